"""`manage.py sentiment_mailbox`: a local SMTP server that keeps what it receives (demo, dev).

Point Django at it with EMAIL_URL=smtp://127.0.0.1:8025 and read the mail at
/sentiment/mailbox/ (staff). Stops on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from apps.sentiment.mailbox import mailbox_server


class Command(BaseCommand):
    help = "Run an SMTP server (aiosmtpd) that stores every message in a Maildir."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=settings.SENTIMENT_MAILBOX_HOST)
        parser.add_argument("--port", type=int, default=settings.SENTIMENT_MAILBOX_PORT)
        parser.add_argument("--dir", default=settings.SENTIMENT_MAILBOX_DIR, help="Maildir path")

    def handle(self, *args, **options) -> None:  # noqa: ANN002, ANN003
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        server = mailbox_server(host=options["host"], port=options["port"], path=options["dir"])
        server.start()
        self.stdout.write(
            f"SMTP mailbox on {options['host']}:{options['port']}, storing in {options['dir']}",
        )
        self.stdout.flush()
        try:
            stop.wait()
        finally:
            server.stop()
            self.stdout.write("mailbox stopped")

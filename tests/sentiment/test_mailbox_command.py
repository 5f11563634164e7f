"""`manage.py sentiment_mailbox` is a real SMTP server: what it accepts is in its Maildir."""

from __future__ import annotations

import os
import signal
import smtplib
import subprocess
import sys
import time
from email.message import EmailMessage
from pathlib import Path

from apps.sentiment.mailbox import mailbox_messages
from tests.sentiment.alert_helpers import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_command_receives_and_keeps_mail_until_stopped(tmp_path: Path) -> None:
    port = free_port()
    maildir = tmp_path / "mail"
    process = subprocess.Popen(
        [sys.executable, "manage.py", "sentiment_mailbox", "--port", str(port), "--dir", maildir],
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = ""
        deadline = time.monotonic() + 60
        while "SMTP mailbox on" not in banner:
            assert process.poll() is None and time.monotonic() < deadline, banner
            banner = process.stdout.readline()
        message = EmailMessage()
        message["From"] = "tessera@localhost"
        message["To"] = "desk@example.com"
        message["Subject"] = "Surge: Kappa Steel"
        message["Message-ID"] = "<test.1@localhost>"
        message.set_content("plain body")
        message.add_alternative("<p>html body</p>", subtype="html")
        with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
            smtp.send_message(message)
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert "mailbox stopped" in output
    (mail,) = mailbox_messages(maildir)
    assert (mail.subject, mail.to_address, mail.message_id) == (
        "Surge: Kappa Steel",
        "desk@example.com",
        "<test.1@localhost>",
    )
    assert mail.text.strip() == "plain body" and "html body" in mail.html

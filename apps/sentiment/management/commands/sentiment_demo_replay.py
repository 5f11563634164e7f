"""`manage.py sentiment_demo_replay`: the demo's news stream (history, live pace, one burst).

The demo starts it beside web and worker; run it alone against any database to watch the
monitor work. Articles go through the real ingest service. Stops on Ctrl-C, SIGTERM or after
--duration seconds.
"""

from __future__ import annotations

import signal
import threading
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from apps.sentiment.demo_data import HeadlineWriter, demo_replay_run
from apps.sentiment.ingest.services import articles_ingest


class Command(BaseCommand):
    help = "Replay demo news: the missing hours of history, then a live stream with a burst."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--seed", type=int, default=None, help="fixed text and timing")
        parser.add_argument("--history-hours", type=float, default=None)
        parser.add_argument("--per-hour", type=float, default=None, help="articles/hour/topic")
        parser.add_argument("--burst-after", type=float, default=None, help="seconds")
        parser.add_argument("--no-burst", action="store_true")
        parser.add_argument("--duration", type=float, default=None, help="seconds; default: run on")

    def handle(self, *args: Any, **options: Any) -> None:
        writer = HeadlineWriter.from_files(seed=options["seed"])
        plan = writer.plan(
            history_hours=options["history_hours"],
            articles_per_hour_per_topic=options["per_hour"],
            burst_after_s=options["burst_after"],
            no_burst=options["no_burst"],
        )
        stop = threading.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        started = timezone.now()

        def wait_until(moment: datetime) -> bool:
            if options["duration"] is not None:
                if (moment - started).total_seconds() > options["duration"]:
                    return False
            return not stop.wait(max(0.0, (moment - timezone.now()).total_seconds()))

        def ingest(rows: list[dict[str, Any]]) -> None:
            report = articles_ingest(rows, channel="demo")
            for result in report.results:
                if result.errors:
                    self.stderr.write(f"demo row {result.index} refused: {result.errors}")

        def on_progress(message: str) -> None:
            self.stdout.write(f"news: {message}")
            self.stdout.flush()

        if plan.burst_after_s is not None:
            on_progress(f"a burst of negative news starts in {plan.burst_after_s:.0f} s")
        sent = demo_replay_run(
            writer=writer, plan=plan, ingest=ingest, wait_until=wait_until, on_progress=on_progress
        )
        self.stdout.write(f"news replay stopped after {sent} articles")

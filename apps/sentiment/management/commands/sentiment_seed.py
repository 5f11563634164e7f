"""Queue the first `sentiment.headline` version (from the shipped seed headlines) if none exists.

A fresh install scores nothing until a version is promoted; this trains one on a `gpu` worker
with no analyst label needed. Promote it in admin (Topics > Sentiment model versions).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.sentiment.understanding.services import sentiment_first_version_ensure
from ml.errors import ServiceError


class Command(BaseCommand):
    help = __doc__.splitlines()[0]

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            version = sentiment_first_version_ensure()
        except ServiceError as exc:
            raise CommandError(exc.message) from exc
        if version is None:
            self.stdout.write("sentiment.headline already has a version; nothing queued")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"queued {version} (id {version.id}) for a gpu worker: {version.notes}"
            )
        )

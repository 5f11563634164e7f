from __future__ import annotations

from django.apps import AppConfig


class SentimentConfig(AppConfig):
    """Financial news sentiment monitor: ingest, scoring, topics, surges, alerts, dashboard."""

    name = "apps.sentiment"
    label = "sentiment"
    verbose_name = "News sentiment monitor"

    def ready(self) -> None:
        # Each part registers itself with the ML core (training task, index, scoring handler),
        # the demo and the beat schedule from here, as apps/chat/apps.py does.
        from django.db.models.signals import post_migrate

        from apps.sentiment.access import analyst_group_ensure

        # alerts: the articles_understood receiver lives with its task.
        from apps.sentiment.tasks import alerts  # noqa: F401

        # dashboard: the "analyst" group exists after every migrate (and test flush).
        post_migrate.connect(
            analyst_group_ensure, sender=self, dispatch_uid="sentiment_analyst_group"
        )

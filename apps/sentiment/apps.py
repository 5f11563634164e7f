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
        self._demo_register()
        # understanding: the headline model, batch scoring, the articles index, receivers.
        self._understanding_ready()

    @staticmethod
    def _demo_register() -> None:
        """Demo topics and rule, the sentiment model, the mailbox and the replayed news."""
        from django.conf import settings

        from apps.core.demo import DemoContribution, demo_register
        from apps.sentiment.demo_data import load_demo_monitor

        mailbox = f"smtp://{settings.SENTIMENT_MAILBOX_HOST}:{settings.SENTIMENT_MAILBOX_PORT}"
        demo_register(
            DemoContribution(
                app="sentiment",
                load_data=load_demo_monitor,
                training_tasks=("sentiment.headline",),
                urls=(
                    ("News sentiment", "sentiment:dashboard"),
                    ("Labelling queue", "sentiment:labelling"),
                    ("Received alert mail", "sentiment:mailbox"),
                ),
                processes=(
                    ("mailbox", ("sentiment_mailbox",)),
                    ("news", ("sentiment_demo_replay",)),
                ),
                # Alert emails go to the demo's own SMTP server, shown at /sentiment/mailbox/.
                environment={"EMAIL_URL": mailbox},
            )
        )

    def _understanding_ready(self) -> None:
        """understanding: the headline model task, its batch scoring, the articles index."""
        from apps.sentiment.understanding import receivers  # noqa: F401  (connects them)
        from apps.sentiment.understanding.article_index import article_index_spec
        from apps.sentiment.understanding.scoring import headline_scoring_handler
        from apps.sentiment.understanding.training import headline_task_spec
        from ml.registry.catalog import training_task_register
        from ml.registry.indexes import index_register
        from ml.registry.plugins import batch_scoring_register

        training_task_register(headline_task_spec())
        # Scored on the gpu workers only (never loaded by a web process); a promotion
        # re-scores the last SENTIMENT_RESCORE_WINDOW_HOURS of articles.
        batch_scoring_register(headline_scoring_handler())
        index_register(article_index_spec())  # article id -> title + body, recent days

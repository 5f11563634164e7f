"""Celery tasks: alerts (evaluate rules, flush the email outbox) and the pipeline receiver."""

from __future__ import annotations

from celery import shared_task
from django.dispatch import receiver
from django.utils import timezone

from apps.sentiment.signals import articles_understood


@shared_task(name="sentiment.alerts_evaluate", acks_late=True)
def alerts_evaluate(topic_ids: list[int] | None = None) -> dict:
    """Run the rules (beat: every topic; after new articles: their topics), then send."""
    from apps.sentiment.alerts import alerts_evaluate as evaluate

    summary = evaluate(now=timezone.now(), topic_ids=topic_ids)
    if summary.emails:
        outbox_flush.delay()
    return {"fired": summary.fired, "resolved": summary.resolved, "emails": summary.emails}


@shared_task(name="sentiment.outbox_flush", acks_late=True)
def outbox_flush() -> dict:
    """Send due alert emails; safe to run in several workers at once (rows are claimed)."""
    from apps.sentiment.alerts import outbox_flush as flush

    summary = flush()
    return {"sent": summary.sent, "retrying": summary.retrying, "failed": summary.failed}


@receiver(articles_understood, dispatch_uid="sentiment.alerts.articles_understood")
def evaluate_on_articles_understood(sender, topic_ids=(), **kwargs) -> None:  # noqa: ANN001, ANN003
    """New scored, matched articles: check their topics now instead of at the next beat."""
    if topic_ids:
        alerts_evaluate.delay(topic_ids=sorted(set(topic_ids)))

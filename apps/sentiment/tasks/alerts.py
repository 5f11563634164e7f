"""Celery tasks: alerts (evaluate rules, flush the email outbox) and the pipeline receiver."""

from __future__ import annotations

import logging

from celery import current_task, shared_task
from django.db import DatabaseError
from django.dispatch import receiver
from django.utils import timezone

from apps.sentiment.signals import articles_understood

logger = logging.getLogger(__name__)


@shared_task(name="sentiment.alerts_evaluate", acks_late=True)
def alerts_evaluate(topic_ids: list[int] | None = None) -> dict:
    """Run the rules (beat: every topic; after new articles: their topics), then send."""
    from apps.sentiment.alerts import alerts_evaluate_and_send

    summary, _ = alerts_evaluate_and_send(now=timezone.now(), topic_ids=topic_ids)
    return {"fired": summary.fired, "resolved": summary.resolved, "emails": summary.emails}


@shared_task(name="sentiment.outbox_flush", acks_late=True)
def outbox_flush() -> dict:
    """Send due alert emails; safe to run in several workers at once (rows are claimed)."""
    from apps.sentiment.alerts import outbox_flush as flush

    summary = flush()
    return {"sent": summary.sent, "retrying": summary.retrying, "failed": summary.failed}


def _running_a_task() -> bool:
    """True inside a Celery task (a worker's, or an eager one); False in a web request or shell."""
    return bool(current_task) and not current_task.request.called_directly  # a proxy: bool()


@receiver(articles_understood, dispatch_uid="sentiment.alerts.articles_understood")
def evaluate_on_articles_understood(sender, topic_ids=(), **kwargs) -> None:  # noqa: ANN001, ANN003
    """New scored, matched articles: check their topics now instead of at the next beat.

    The senders are tasks (understanding, re-scoring, topic refresh): the rules run right there
    and a fired alert is emailed at once. A queued evaluation would wait behind the rest of a
    scoring backlog on a worker serving both queues (bench/alert_latency.py, one worker: p99
    201.7 s). Outside a task (a shell, a test) it is queued as before.
    """
    if not topic_ids:
        return
    topics = sorted(set(topic_ids))
    if not _running_a_task():
        alerts_evaluate.delay(topic_ids=topics)
        return
    from apps.sentiment.alerts import alerts_evaluate_and_send

    try:
        summary, flushed = alerts_evaluate_and_send(now=timezone.now(), topic_ids=topics)
    except DatabaseError:  # e.g. a lock timeout: the understanding stands, evaluate later
        logger.warning("inline alert evaluation failed topics=%s; queued", topics, exc_info=True)
        alerts_evaluate.delay(topic_ids=topics)
        return
    if summary.fired or summary.resolved or flushed is not None:
        logger.info(
            "alerts evaluated inline topics=%s fired=%s resolved=%s sent=%s",
            topics,
            summary.fired,
            summary.resolved,
            flushed.sent if flushed is not None else 0,
        )

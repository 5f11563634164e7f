"""Celery tasks: understanding (scoring and topic matching run on the `gpu` queue)."""

from __future__ import annotations

from typing import Any

from celery import shared_task
from django.db import InterfaceError, OperationalError
from kombu.exceptions import OperationalError as BrokerError

# What waiting can fix: the database or the broker briefly unreachable, a lock wait that timed
# out, a deadlock victim. A failed task is otherwise gone (only a lost worker redelivers), and
# its articles would stay unscored and unmatched. Anything else is a bug or bad data: it fails
# at once. Both tasks are idempotent, so a retry after a partial run rewrites the same rows.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, BrokerError)
RETRY_OPTIONS: dict[str, Any] = {
    "autoretry_for": TRANSIENT_ERRORS,
    "max_retries": 5,
    "retry_backoff": 2,  # s, doubled per retry (with jitter): 2, 4, 8, 16, 32 at most
    "retry_backoff_max": 120,
    "retry_jitter": True,
}


@shared_task(name="sentiment.understand_articles", acks_late=True, **RETRY_OPTIONS)
def understand_articles(article_ids: list[int]) -> dict[str, Any]:
    """Score new articles, match them to topics, then send `articles_understood`."""
    from apps.sentiment.understanding import services

    return services.articles_understand(article_ids=article_ids).as_json()


@shared_task(name="sentiment.refresh_topic_matches", acks_late=True, **RETRY_OPTIONS)
def refresh_topic_matches(topic_id: int) -> dict[str, int] | None:
    """Re-match a created or edited topic over the recent window."""
    from apps.sentiment.models import Topic
    from apps.sentiment.understanding import services

    topic = Topic.objects.filter(id=topic_id).first()
    if topic is None:  # deleted before the worker got to it
        return None
    result = services.topic_matches_refresh(topic=topic)
    return {"matched": result.matched, "added": result.added, "removed": result.removed}


@shared_task(name="sentiment.prune_articles_index")
def prune_articles_index() -> int:
    """Remove articles older than SENTIMENT_INDEX_DAYS from the `sentiment_articles` index."""
    from apps.sentiment.understanding import services

    return services.articles_index_prune()

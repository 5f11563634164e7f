"""Celery tasks: understanding (scoring and topic matching run on the `gpu` queue)."""

from __future__ import annotations

from typing import Any

from celery import shared_task


@shared_task(name="sentiment.understand_articles", acks_late=True)
def understand_articles(article_ids: list[int]) -> dict[str, Any]:
    """Score new articles, match them to topics, then send `articles_understood`."""
    from apps.sentiment.understanding import services

    return services.articles_understand(article_ids=article_ids).as_json()


@shared_task(name="sentiment.refresh_topic_matches", acks_late=True)
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

"""What starts understanding: new articles, and a topic created or edited in admin."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.utils import timezone

from apps.sentiment.models import AlertRule, Article, Topic
from apps.sentiment.signals import articles_ingested
from apps.sentiment.tasks.understanding import refresh_topic_matches, understand_articles
from apps.sentiment.understanding.services import understanding_batch_size

logger = logging.getLogger(__name__)


# Understanding of old news (a feed's or the demo's catch-up of past hours, an import) is sent
# at this priority: the Redis transport consumes Celery's default (0) first, so fresh news is
# scored, and can fire an alert, while such a backlog waits (the filesystem broker of embedded
# mode ignores priorities and keeps arrival order).
BACKFILL_PRIORITY = 6


def fresh_since(*, now: datetime) -> datetime:
    """News published before this cannot start a surge now: older than every rule's window."""
    longest = AlertRule.objects.filter(active=True).aggregate(m=Max("window_minutes"))["m"]
    return now - timedelta(minutes=longest or 60)


@receiver(articles_ingested, dispatch_uid="sentiment-understand-new-articles")
def understand_new_articles(sender: Any, article_ids: list[int], **kwargs: Any) -> None:
    """One `gpu` task per SENTIMENT_BATCH_SIZE new articles (sent after ingest's commit);
    fresh articles first, old ones at BACKFILL_PRIORITY."""
    ids = sorted({int(i) for i in article_ids})
    if not ids:
        return
    since = fresh_since(now=timezone.now())
    published = dict(Article.objects.filter(id__in=ids).values_list("id", "published_at"))
    fresh = [i for i in ids if i in published and published[i] >= since]
    old = [i for i in ids if i in published and published[i] < since]
    size = understanding_batch_size()
    for start in range(0, len(fresh), size):
        understand_articles.delay(fresh[start : start + size])
    for start in range(0, len(old), size):
        understand_articles.apply_async(
            args=[old[start : start + size]], priority=BACKFILL_PRIORITY
        )
    logger.info(
        "understanding queued articles=%d fresh=%d old=%d tasks=%d",
        len(ids),
        len(fresh),
        len(old),
        -(-len(fresh) // size) + -(-len(old) // size),
    )


@receiver(post_save, sender=Topic, dispatch_uid="sentiment-topic-matches-refresh")
def topic_saved(sender: Any, instance: Topic, **kwargs: Any) -> None:
    """A created or edited topic is re-matched over the recent window after the commit."""
    topic_id = instance.id
    transaction.on_commit(lambda: refresh_topic_matches.delay(topic_id))

"""What starts understanding: new articles, and a topic created or edited in admin."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from apps.sentiment.models import Topic
from apps.sentiment.signals import articles_ingested
from apps.sentiment.tasks.understanding import refresh_topic_matches, understand_articles
from apps.sentiment.understanding.services import understanding_batch_size

logger = logging.getLogger(__name__)


@receiver(articles_ingested, dispatch_uid="sentiment-understand-new-articles")
def understand_new_articles(sender: Any, article_ids: list[int], **kwargs: Any) -> None:
    """One `gpu` task per SENTIMENT_BATCH_SIZE new articles (sent after ingest's commit)."""
    ids = sorted({int(i) for i in article_ids})
    size = understanding_batch_size()
    for start in range(0, len(ids), size):
        understand_articles.delay(ids[start : start + size])
    if ids:
        logger.info("understanding queued articles=%d tasks=%d", len(ids), -(-len(ids) // size))


@receiver(post_save, sender=Topic, dispatch_uid="sentiment-topic-matches-refresh")
def topic_saved(sender: Any, instance: Topic, **kwargs: Any) -> None:
    """A created or edited topic is re-matched over the recent window after the commit."""
    topic_id = instance.id
    transaction.on_commit(lambda: refresh_topic_matches.delay(topic_id))

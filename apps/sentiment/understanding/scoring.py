"""The monitor's batch-scoring handler for `sentiment.headline` (ml/registry/plugins.py).

The core scores headlines with the production version on a `gpu` worker and hands the results
here: each article gets its label, the three probabilities and the version that said so. After
a promotion the core walks `recent_article_ids` (SENTIMENT_RESCORE_WINDOW_HOURS), so articles
that arrived while no model was promoted get scored too.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.sentiment.models import Article, TopicMatch
from apps.sentiment.signals import articles_understood
from apps.sentiment.understanding.training import HEADLINE_TASK
from ml.registry.plugins import BatchScoringHandler, ScoredItem

# Set while articles_understand scores new articles: it tells the alerts itself, after matching.
_scoring_new_articles: ContextVar[bool] = ContextVar("scoring_new_articles", default=False)


@contextmanager
def new_articles_scoring() -> Iterator[None]:
    token = _scoring_new_articles.set(True)
    try:
        yield
    finally:
        _scoring_new_articles.reset(token)


def article_headlines(ids: Sequence[int]) -> dict[int, str]:
    """What the model reads: the headline (the seed set and analysts label headlines)."""
    return dict(Article.objects.filter(id__in=list(ids)).values_list("id", "title"))


def recent_article_ids() -> list[int]:
    """Articles published within the re-scoring window, newest first."""
    since = timezone.now() - timedelta(hours=settings.SENTIMENT_RESCORE_WINDOW_HOURS)
    return list(
        Article.objects.filter(published_at__gte=since)
        .order_by("-published_at", "-id")
        .values_list("id", flat=True)
    )


def article_predictions_store(items: Sequence[ScoredItem]) -> None:
    """Write each article's prediction tagged with its version (idempotent: last one wins).

    A re-scoring (after a promotion) whose label changes tells the alerts, after the commit,
    about those articles and their topics: the topics' negative shares just changed.
    """
    by_id = {item.item_id: item for item in items}
    now = timezone.now()
    articles = list(Article.objects.filter(id__in=list(by_id)))
    changed: list[int] = []
    for article in articles:
        item = by_id[article.id]
        if article.sentiment != item.label:
            changed.append(article.id)
        probabilities = dict(item.probabilities)
        article.sentiment = item.label
        article.p_positive = round(probabilities.get("positive", 0.0), 4)
        article.p_neutral = round(probabilities.get("neutral", 0.0), 4)
        article.p_negative = round(probabilities.get("negative", 0.0), 4)
        article.confidence = round(min(1.0, max(0.0, item.confidence)), 4)
        article.sentiment_version_id = item.version_id
        article.scored_at = now
    Article.objects.bulk_update(
        articles,
        [
            "sentiment",
            "p_positive",
            "p_neutral",
            "p_negative",
            "confidence",
            "sentiment_version",
            "scored_at",
        ],
        batch_size=500,
    )
    if changed and not _scoring_new_articles.get():
        topic_ids = sorted(
            set(
                TopicMatch.objects.filter(article_id__in=changed).values_list("topic_id", flat=True)
            )
        )
        transaction.on_commit(
            lambda: articles_understood.send(
                sender=Article, article_ids=sorted(changed), topic_ids=topic_ids
            )
        )


def headline_scoring_handler() -> BatchScoringHandler:
    return BatchScoringHandler(
        task=HEADLINE_TASK,
        texts=article_headlines,
        store=article_predictions_store,
        recent_ids=recent_article_ids,
    )

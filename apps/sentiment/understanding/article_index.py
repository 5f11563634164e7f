"""The `sentiment_articles` named index: article id -> vector of its title and body.

Holds the articles published within SENTIMENT_INDEX_DAYS; topic descriptions are compared with
them to match by meaning. Older ids are pruned by syncing them (the source no longer yields
them, so the core removes them).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from apps.sentiment.models import Article
from apps.sentiment.understanding.texts import article_text
from ml.registry import indexes

ARTICLE_INDEX = "sentiment_articles"


def article_index_since() -> datetime:
    return timezone.now() - timedelta(days=settings.SENTIMENT_INDEX_DAYS)


def article_index_source(ids: Sequence[int] | None) -> Iterator[tuple[int, str]]:
    """(article id, title + body) of recent articles; of `ids` only, unless None."""
    rows = Article.objects.filter(published_at__gte=article_index_since())
    if ids is not None:
        rows = rows.filter(id__in=list(ids))
    for article_id, title, body in (
        rows.order_by("id").values_list("id", "title", "body").iterator(chunk_size=2000)
    ):
        yield article_id, article_text(title, body)


def article_index_spec() -> indexes.NamedIndexSpec:
    return indexes.NamedIndexSpec(name=ARTICLE_INDEX, source=article_index_source)

"""Analysts correct the model: the queue (least confident first) and recording a label.

A label stores what the model said at the time (`model_label`), so disagreements stay visible
after a new version re-scores the article; held-out labels are kept out of training and used
to compare versions on the same articles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Count, F, Q

from apps.sentiment.models import Article, ArticleLabel, Sentiment
from ml.errors import NotFound

BODY_EXCERPT_CHARS = 400


@dataclass(frozen=True)
class QueueItem:
    article_id: int
    title: str
    body: str
    url: str
    source: str
    published_at: datetime
    sentiment: str
    p_positive: float | None
    p_neutral: float | None
    p_negative: float | None
    confidence: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "article_id": self.article_id,
            "title": self.title,
            "body": self.body,
            "url": self.url,
            "source": self.source,
            "published_at": self.published_at.isoformat(),
            "sentiment": self.sentiment,
            "probabilities": {
                "positive": self.p_positive,
                "neutral": self.p_neutral,
                "negative": self.p_negative,
            },
            "confidence": self.confidence,
        }


@dataclass(frozen=True)
class LabellingProgress:
    unlabelled: int
    labelled: int
    disagreements: int
    held_out: int

    def to_dict(self) -> dict[str, int]:
        return {
            "unlabelled": self.unlabelled,
            "labelled": self.labelled,
            "disagreements": self.disagreements,
            "held_out": self.held_out,
        }


def _unlabelled_scored():  # noqa: ANN202
    return Article.objects.filter(label__isnull=True, confidence__isnull=False).exclude(
        sentiment=""
    )


def labelling_queue(*, limit: int = 5, exclude_ids: Iterable[int] = ()) -> list[QueueItem]:
    """Scored articles nobody labelled yet, least confident prediction first."""
    articles = (
        _unlabelled_scored()
        .exclude(id__in=list(exclude_ids))
        .select_related("source")
        .order_by("confidence", "-published_at", "id")[:limit]
    )
    return [
        QueueItem(
            article_id=a.id,
            title=a.title,
            body=a.body[:BODY_EXCERPT_CHARS],
            url=a.url,
            source=a.source_name or (a.source.name if a.source else ""),
            published_at=a.published_at,
            sentiment=a.sentiment,
            p_positive=a.p_positive,
            p_neutral=a.p_neutral,
            p_negative=a.p_negative,
            confidence=a.confidence,
        )
        for a in articles
    ]


def labelling_progress() -> LabellingProgress:
    labels = ArticleLabel.objects.aggregate(
        labelled=Count("id"),
        disagreements=Count("id", filter=~Q(model_label="") & ~Q(model_label=F("label"))),
        held_out=Count("id", filter=Q(held_out=True)),
    )
    return LabellingProgress(unlabelled=_unlabelled_scored().count(), **labels)


def labels_recent(*, limit: int = 15) -> list[ArticleLabel]:
    return list(
        ArticleLabel.objects.select_related("article", "labelled_by").order_by(
            "-labelled_at", "-id"
        )[:limit]
    )


def article_label_record(
    *, article_id: int, label: str, held_out: bool, user: AbstractBaseUser | None
) -> ArticleLabel:
    """Store (or correct) the analyst's label, with the model's prediction at this moment."""
    if label not in Sentiment.values:
        raise ValueError(f"label={label!r} is not one of {', '.join(Sentiment.values)}")
    with transaction.atomic():
        article = Article.objects.select_for_update().filter(id=article_id).first()
        if article is None:
            raise NotFound(f"No article {article_id}", extra={"article": article_id})
        existing = ArticleLabel.objects.filter(article=article).first()
        # A correction keeps what the model said when the article was first labelled.
        model_label = existing.model_label if existing else article.sentiment
        record, _ = ArticleLabel.objects.update_or_create(
            article=article,
            defaults={
                "label": label,
                "model_label": model_label,
                "held_out": held_out,
                "labelled_by": user if user is not None and user.is_authenticated else None,
            },
        )
    return record

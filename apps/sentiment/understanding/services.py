"""Understanding articles: score their sentiment, match them to topics, tell the alerts.

Runs on the `gpu` workers (sentiment.understand_articles, sentiment.refresh_topic_matches):
the served model and the encoder are loaded there, never in a web process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet

from apps.sentiment.models import Article, ArticleLabel, Topic, TopicMatch
from apps.sentiment.signals import articles_understood
from apps.sentiment.understanding.article_index import ARTICLE_INDEX, article_index_since
from apps.sentiment.understanding.matching import (
    MatchReason,
    rule_matches,
    similarity_matches,
)
from apps.sentiment.understanding.scoring import new_articles_scoring
from apps.sentiment.understanding.training import HEADLINE_TASK, headline_dataset
from ml.index import VectorIndex
from ml.registry import indexes, scoring, serving
from ml.registry.models import ModelVersion
from ml.registry.services import model_version_queue
from ml.serving import ModelNotAvailable

logger = logging.getLogger(__name__)

# Articles scored and matched by rules per commit in one understanding task; each commit lets
# the alerts look. Four forward passes of ml.registry.scoring's 16: small enough that a burst's
# first alert waits for one chunk, large enough that the per-commit work (a transaction, one
# rule evaluation over the touched topics) stays a small share of the chunk.
ALERT_CHUNK_SIZE = 64


@dataclass(frozen=True)
class UnderstandResult:
    articles: int
    scored: int
    version: int | None  # the sentiment.headline version that scored them; None: no model yet
    topic_ids: list[int] = field(default_factory=list)
    matches: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "articles": self.articles,
            "scored": self.scored,
            "version": self.version,
            "topic_ids": self.topic_ids,
            "matches": self.matches,
        }


@dataclass(frozen=True)
class TopicRefreshResult:
    topic_id: int
    matched: int  # matches in the window after the refresh
    added: int
    removed: int


def _index_holding(ids: Sequence[int]) -> VectorIndex:
    """The articles index as this process sees it, reloaded from disk if it lags `ids`.

    The reader polls the published version every half second; right after this process synced
    new articles it may not have swapped them in yet, and they must be searchable now.
    """
    index = indexes.index_reader(name=ARTICLE_INDEX).get()
    if all(int(i) in index for i in ids):
        return index
    return VectorIndex.load(
        indexes.index_path(name=ARTICLE_INDEX), indexes.index_config(name=ARTICLE_INDEX)
    )


def _embedding_matches(
    topics: Sequence[Topic], article_ids: Sequence[int]
) -> dict[tuple[int, int], MatchReason]:
    described = [topic for topic in topics if topic.description.strip()]
    if not described or not article_ids:
        return {}
    try:
        index = _index_holding(article_ids)
    except FileNotFoundError:  # nothing indexed yet (no recent article)
        return {}
    present = [int(i) for i in article_ids if int(i) in index]
    if not present:
        return {}
    vectors = serving.get_encoder().encode([topic.description for topic in described])
    scores, ids = index.search(np.asarray(vectors), len(present), allow_ids=present)
    return similarity_matches(described, scores, ids)


def _matches_write(
    found: dict[tuple[int, int], MatchReason], published: dict[int, Any]
) -> list[TopicMatch]:
    rows = [
        TopicMatch(
            topic_id=topic_id,
            article_id=article_id,
            method=reason.method,
            matched_text=reason.matched_text,
            score=reason.score,
            published_at=published[article_id],
        )
        for (article_id, topic_id), reason in sorted(found.items())
    ]
    return TopicMatch.objects.bulk_create(
        rows,
        batch_size=1000,
        update_conflicts=True,
        unique_fields=["topic", "article"],
        update_fields=["method", "matched_text", "score", "published_at"],
    )


def _announce(found: dict[tuple[int, int], MatchReason]) -> None:
    """Tell the alerts, after the commit, which articles just matched which topics.

    robust: a failing receiver is logged and the rest of the batch is still understood (the
    beat's evaluation covers what it missed).
    """
    if not found:
        return
    article_ids = sorted({article_id for article_id, _ in found})
    topic_ids = sorted({topic_id for _, topic_id in found})
    transaction.on_commit(
        lambda: articles_understood.send(
            sender=Article, article_ids=article_ids, topic_ids=topic_ids
        ),
        robust=True,
    )


def articles_understand(*, article_ids: Sequence[int]) -> UnderstandResult:
    """Score new articles with the production model, match them to topics, then tell alerts.

    1. Per chunk of ALERT_CHUNK_SIZE: score, match by the topics' rules (aliases, tickers,
       keywords: cheap), commit, send `articles_understood`. A burst's first alert waits for
       one chunk, not for the whole batch and its embeddings.
    2. Embed the batch into the articles index, match by meaning (topic descriptions), drop
       matches these articles no longer have (a redelivery after a topic changed), commit and
       send `articles_understood` for the topics matched by meaning.
    Idempotent (a redelivered task rewrites the same rows). Without a production
    `sentiment.headline` the articles stay unscored (the first promotion re-scores them) but
    are still matched.
    """
    rows = list(
        Article.objects.filter(id__in=list(article_ids))
        .order_by("id")
        .values_list("id", "title", "body", "published_at")
    )
    ids = [row[0] for row in rows]
    if not ids:
        return UnderstandResult(articles=0, scored=0, version=None)
    topics = list(Topic.objects.filter(active=True).order_by("id"))
    published = {row[0]: row[3] for row in rows}
    scored_count, version, model_ready = 0, None, True
    by_rule: dict[tuple[int, int], MatchReason] = {}
    for start in range(0, len(rows), ALERT_CHUNK_SIZE):
        chunk = rows[start : start + ALERT_CHUNK_SIZE]
        chunk_ids = [row[0] for row in chunk]
        if model_ready:
            try:
                with new_articles_scoring():  # the signal goes out below, after matching
                    scored = scoring.items_score(task=HEADLINE_TASK, item_ids=chunk_ids)
                scored_count += scored.scored
                version = scored.version if scored.version is not None else version
            except ModelNotAvailable:
                logger.info(
                    "no production %s yet: %d articles left unscored", HEADLINE_TASK, len(ids)
                )
                model_ready = False
        found = rule_matches(topics, [(i, t, b) for i, t, b, _ in chunk])
        with transaction.atomic():
            _matches_write(found, published)
            _announce(found)
        by_rule.update(found)

    indexes.index_sync(name=ARTICLE_INDEX, ids=ids)
    since = article_index_since()
    indexed = [i for i, _, _, published_at in rows if published_at >= since]
    # Rules win where both match (the reason shown is the alias, not a score).
    by_meaning = {
        key: reason
        for key, reason in _embedding_matches(topics, indexed).items()
        if key not in by_rule
    }
    found = {**by_meaning, **by_rule}
    with transaction.atomic():
        stale = [
            match_id
            for match_id, article_id, topic_id in TopicMatch.objects.filter(
                article_id__in=ids
            ).values_list("id", "article_id", "topic_id")
            if (article_id, topic_id) not in found
        ]
        if stale:
            TopicMatch.objects.filter(id__in=stale).delete()
        _matches_write(by_meaning, published)
        _announce(by_meaning)
    topic_ids = sorted({topic_id for _, topic_id in found})
    logger.info(
        "understood articles=%d scored=%d version=%s matches=%d topics=%d",
        len(ids),
        scored_count,
        version,
        len(found),
        len(topic_ids),
    )
    return UnderstandResult(
        articles=len(ids),
        scored=scored_count,
        version=version,
        topic_ids=topic_ids,
        matches=len(found),
    )


def topic_matches_refresh(*, topic: Topic) -> TopicRefreshResult:
    """Re-match one topic over the recent window (SENTIMENT_INDEX_DAYS) after it changed.

    Matches in the window that its new terms and description no longer give are removed;
    older matches stay as history. An inactive topic keeps what it has.
    """
    topic.refresh_from_db()
    if not topic.active:
        count = TopicMatch.objects.filter(topic=topic).count()
        return TopicRefreshResult(topic.id, matched=count, added=0, removed=0)
    window = Article.objects.filter(published_at__gte=article_index_since())
    found: dict[tuple[int, int], MatchReason] = {}
    published: dict[int, Any] = {}
    ids: list[int] = []
    for chunk in _chunks(window.order_by("id").values_list("id", "title", "body", "published_at")):
        ids.extend(row[0] for row in chunk)
        published.update((row[0], row[3]) for row in chunk)
        found.update(rule_matches([topic], [(i, t, b) for i, t, b, _ in chunk]))
    for key, reason in _embedding_matches([topic], ids).items():
        found.setdefault(key, reason)
    with transaction.atomic():
        before = set(
            TopicMatch.objects.filter(topic=topic, article_id__in=ids).values_list(
                "article_id", flat=True
            )
        )
        now = {article_id for article_id, _ in found}
        removed, _ = (
            TopicMatch.objects.filter(topic=topic, article_id__in=before - now).delete()
            if before - now
            else (0, {})
        )
        _matches_write(found, published)
        added = sorted(now - before)
        if added:
            transaction.on_commit(
                lambda: articles_understood.send(
                    sender=Topic, article_ids=added, topic_ids=[topic.id]
                ),
                robust=True,
            )
    logger.info(
        "topic matches refreshed topic=%s matched=%d added=%d removed=%d",
        topic.id,
        len(now),
        len(added),
        removed,
    )
    return TopicRefreshResult(topic.id, matched=len(now), added=len(added), removed=removed)


def _chunks(rows: QuerySet, size: int = 2000) -> Iterable[list[Any]]:
    chunk: list[Any] = []
    for row in rows.iterator(chunk_size=size):
        chunk.append(row)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def articles_index_prune() -> int:
    """Sync the indexed ids that left the window, so the core removes their vectors."""
    try:
        indexed = {int(i) for i in _index_holding([]).ids()}
    except FileNotFoundError:
        return 0
    recent = set(
        Article.objects.filter(id__in=indexed, published_at__gte=article_index_since()).values_list(
            "id", flat=True
        )
    )
    stale = sorted(indexed - recent)
    indexes.index_sync_queue(name=ARTICLE_INDEX, ids=stale)
    return len(stale)


def sentiment_version_train_queue(
    *, created_by: Any = None, hyperparameters: dict[str, Any] | None = None, notes: str = ""
) -> ModelVersion:
    """Queue a new `sentiment.headline` version on the `gpu` queue (seed + analyst labels)."""
    analyst = ArticleLabel.objects.filter(held_out=False).count()
    return model_version_queue(
        task=HEADLINE_TASK,
        hyperparameters=hyperparameters,
        created_by=created_by,
        notes=notes
        or f"from admin: seed headlines + {analyst} analyst labels "
        f"({len(headline_dataset())} examples at queueing)",
    )


def sentiment_first_version_ensure(*, created_by: Any = None) -> ModelVersion | None:
    """Queue a first `sentiment.headline` version (seed headlines) unless one exists already.

    None when a version exists (queued, training, ready or failed: a person decides what next).
    """
    if ModelVersion.objects.filter(task=HEADLINE_TASK).exists():
        return None
    return sentiment_version_train_queue(
        created_by=created_by, notes="first version, from the seed headlines"
    )


def understanding_batch_size() -> int:
    return max(1, settings.SENTIMENT_BATCH_SIZE)

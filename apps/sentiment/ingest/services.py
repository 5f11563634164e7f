"""Store delivered articles once: validate each row, de-duplicate, report per row.

An article is the same article when the pushing client's id, the canonical URL or the hash of
the normalised text matches one already stored. The database holds those identities as unique
constraints; this service looks them up first (cheap, one query each per batch) and inserts each
new row in its own savepoint, so a concurrent delivery of the same article that wins the race
turns into a "duplicate" here instead of an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import F
from django.utils import timezone

from apps.sentiment.ingest.canonical import content_hash, url_canonical
from apps.sentiment.ingest.metrics import INGEST_ROWS
from apps.sentiment.ingest.rows import ArticleRowSerializer
from apps.sentiment.models import Article, FeedSource, IngestClient
from apps.sentiment.signals import articles_ingested

logger = logging.getLogger(__name__)

# Inserts run in content-hash order, so concurrent batches cannot deadlock over the same text;
# two rows that share a URL but not their text, crossed between two batches, still can, and
# PostgreSQL then aborts one batch, which runs again and finds the other's rows as duplicates.
DEADLOCK_RETRIES = 4


class RowStatus:
    CREATED = "created"
    DUPLICATE = "duplicate"
    ERROR = "error"


@dataclass(frozen=True)
class RowResult:
    """What happened to one delivered row (`index` is its position in the batch)."""

    index: int
    status: str
    external_id: str = ""
    article_id: int | None = None
    duplicate_of: str = ""  # which identity matched: external_id, canonical_url, content_hash
    errors: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestReport:
    results: list[RowResult]

    @property
    def created_ids(self) -> list[int]:
        return [r.article_id for r in self.results if r.status == RowStatus.CREATED]

    @property
    def created(self) -> int:
        return sum(r.status == RowStatus.CREATED for r in self.results)

    @property
    def duplicates(self) -> int:
        return sum(r.status == RowStatus.DUPLICATE for r in self.results)

    @property
    def failed(self) -> int:
        return sum(r.status == RowStatus.ERROR for r in self.results)


@dataclass(frozen=True)
class _ValidRow:
    index: int
    external_id: str
    title: str
    body: str
    url: str
    canonical_url: str
    content_hash: str
    source_name: str
    published_at: datetime
    language: str


def _errors_as_lists(detail: Any) -> dict[str, list[str]]:
    if isinstance(detail, Mapping):
        return {
            str(name): [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
            for name, msgs in detail.items()
        }
    return {"non_field_errors": [str(m) for m in detail]}


def _row_validate(
    index: int, row: Any, *, now: datetime, default_language: str, default_source: str
) -> _ValidRow | RowResult:
    serializer = ArticleRowSerializer(
        data=row, context={"now": now, "default_language": default_language}
    )
    external_id = str(row.get("id") or "") if isinstance(row, Mapping) else ""
    if not serializer.is_valid():
        return RowResult(
            index=index,
            status=RowStatus.ERROR,
            external_id=external_id[:300],
            errors=_errors_as_lists(serializer.errors),
        )
    data = serializer.validated_data
    canonical = url_canonical(data["url"])
    if len(canonical) > 2000:
        return RowResult(
            index=index,
            status=RowStatus.ERROR,
            external_id=data["id"],
            errors={"url": ["Ensure this field has no more than 2000 characters."]},
        )
    return _ValidRow(
        index=index,
        external_id=data["id"],
        title=data["title"],
        body=data["body"],
        url=data["url"],
        canonical_url=canonical,
        content_hash=content_hash(data["title"], data["body"]),
        source_name=data["source"] or default_source,
        published_at=data["published_at"],
        language=data["language"],
    )


class _Seen:
    """Article ids by each identity: the stored ones and those this batch created."""

    def __init__(
        self, rows: list[_ValidRow], client: IngestClient | None, source: FeedSource | None
    ) -> None:
        self.client = client
        self.source = source
        self.by_external_id: dict[str, int] = {}
        self.by_url: dict[str, int] = {}
        self.by_hash: dict[str, int] = {}
        self._load(rows)

    def _owner_filter(self) -> dict[str, Any] | None:
        if self.client is not None:
            return {"client": self.client}
        if self.source is not None:
            return {"source": self.source}
        return None  # a file import: no id space of its own

    def _load(self, rows: list[_ValidRow]) -> None:
        external_ids = {r.external_id for r in rows if r.external_id}
        owner = self._owner_filter()
        if external_ids and owner is not None:
            self.by_external_id.update(
                Article.objects.filter(**owner, external_id__in=external_ids).values_list(
                    "external_id", "id"
                )
            )
        urls = {r.canonical_url for r in rows if r.canonical_url}
        if urls:
            self.by_url.update(
                Article.objects.filter(canonical_url__in=urls).values_list("canonical_url", "id")
            )
        hashes = {r.content_hash for r in rows}
        self.by_hash.update(
            Article.objects.filter(content_hash__in=hashes).values_list("content_hash", "id")
        )

    def match(self, row: _ValidRow) -> tuple[str, int] | None:
        if row.external_id and self._owner_filter() is not None:
            if (article_id := self.by_external_id.get(row.external_id)) is not None:
                return "external_id", article_id
        if row.canonical_url and (article_id := self.by_url.get(row.canonical_url)) is not None:
            return "canonical_url", article_id
        if (article_id := self.by_hash.get(row.content_hash)) is not None:
            return "content_hash", article_id
        return None

    def reload(self, row: _ValidRow) -> tuple[str, int] | None:
        """After losing an insert race: the winner is committed and visible now."""
        self._load([row])
        return self.match(row)


def _identities(row: _ValidRow, *, with_external_id: bool) -> list[tuple[str, str]]:
    keys = [("content_hash", row.content_hash)]
    if row.canonical_url:
        keys.insert(0, ("canonical_url", row.canonical_url))
    if row.external_id and with_external_id:
        keys.insert(0, ("external_id", row.external_id))
    return keys


def _article_insert(
    row: _ValidRow, *, client: IngestClient | None, source: FeedSource | None
) -> Article | None:
    """The new article, or None when a concurrent delivery stored it first."""
    article = Article(
        source=source,
        client=client,
        external_id=row.external_id,
        source_name=row.source_name,
        url=row.url,
        canonical_url=row.canonical_url,
        content_hash=row.content_hash,
        title=row.title,
        body=row.body,
        language=row.language,
        published_at=row.published_at,
    )
    try:
        with transaction.atomic():
            article.save(force_insert=True)
    except IntegrityError:
        return None
    return article


def _rows_store(
    rows: list[_ValidRow], *, client: IngestClient | None, source: FeedSource | None
) -> list[RowResult]:
    """1. match stored articles, 2. fold repeats within the batch onto their first row,
    3. insert the rest in content-hash order (concurrent batches take the unique-index locks in
    the same order, so they wait for each other instead of deadlocking)."""
    seen = _Seen(rows, client, source)
    with_external_id = client is not None or source is not None
    results: dict[int, RowResult] = {}
    first_row: dict[tuple[str, str], int] = {}
    repeats: dict[int, tuple[int, str]] = {}  # row index -> (first row index, identity)
    pending: list[_ValidRow] = []
    for row in rows:
        if (found := seen.match(row)) is not None:
            matched_on, article_id = found
            results[row.index] = RowResult(
                index=row.index,
                status=RowStatus.DUPLICATE,
                external_id=row.external_id,
                article_id=article_id,
                duplicate_of=matched_on,
            )
            continue
        keys = _identities(row, with_external_id=with_external_id)
        earlier = next(((first_row[k], k[0]) for k in keys if k in first_row), None)
        if earlier is not None:
            repeats[row.index] = earlier
            continue
        for key in keys:
            first_row[key] = row.index
        pending.append(row)

    for row in sorted(pending, key=lambda r: r.content_hash):
        article = _article_insert(row, client=client, source=source)
        if article is not None:
            results[row.index] = RowResult(
                index=row.index,
                status=RowStatus.CREATED,
                external_id=row.external_id,
                article_id=article.id,
            )
            continue
        found = seen.reload(row)
        if found is None:
            raise RuntimeError(f"article insert failed on no known identity (row {row.index})")
        matched_on, article_id = found
        results[row.index] = RowResult(
            index=row.index,
            status=RowStatus.DUPLICATE,
            external_id=row.external_id,
            article_id=article_id,
            duplicate_of=matched_on,
        )

    by_index = {row.index: row for row in rows}
    for index, (first_index, matched_on) in repeats.items():
        results[index] = RowResult(
            index=index,
            status=RowStatus.DUPLICATE,
            external_id=by_index[index].external_id,
            article_id=results[first_index].article_id,
            duplicate_of=matched_on,
        )
    return list(results.values())


def _is_deadlock(exc: OperationalError) -> bool:
    return getattr(exc.__cause__, "sqlstate", None) == "40P01"


def articles_ingest(
    rows: Iterable[Any],
    *,
    client: IngestClient | None = None,
    source: FeedSource | None = None,
    source_name: str = "",
    channel: str = "api",
    now: datetime | None = None,
) -> IngestReport:
    """Store the new articles among `rows`; one result per row, in order.

    Bad rows get field errors and never stop the good ones. Re-delivered articles are reported
    as duplicates of the stored one and change nothing. `articles_ingested` is sent with the
    new ids once they are committed.
    """
    now = now or timezone.now()
    default_language = source.language if source is not None else "en"
    default_source = source_name or (source.name if source is not None else "")
    checked = [
        _row_validate(
            index,
            row,
            now=now,
            default_language=default_language,
            default_source=default_source,
        )
        for index, row in enumerate(rows)
    ]
    valid = [c for c in checked if isinstance(c, _ValidRow)]
    for attempt in range(DEADLOCK_RETRIES + 1):
        try:
            with transaction.atomic():
                stored = _rows_store(valid, client=client, source=source)
                created_ids = sorted(r.article_id for r in stored if r.status == RowStatus.CREATED)
                if created_ids and source is not None:
                    FeedSource.objects.filter(pk=source.pk).update(
                        articles_added=F("articles_added") + len(created_ids)
                    )
                if created_ids:
                    transaction.on_commit(
                        lambda ids=created_ids: articles_ingested.send(
                            sender=Article, article_ids=ids
                        ),
                        robust=True,
                    )
            break
        except OperationalError as exc:
            if not _is_deadlock(exc) or attempt == DEADLOCK_RETRIES:
                raise
            logger.warning("ingest deadlock, retrying batch attempt=%d", attempt + 1)
    by_index = {r.index: r for r in stored}
    results = [c if isinstance(c, RowResult) else by_index[c.index] for c in checked]
    report = IngestReport(results=results)
    for status, count in (
        (RowStatus.CREATED, report.created),
        (RowStatus.DUPLICATE, report.duplicates),
        (RowStatus.ERROR, report.failed),
    ):
        if count:
            INGEST_ROWS.labels(channel=channel, status=status).inc(count)
    logger.info(
        "articles ingested channel=%s client=%s source=%s created=%d duplicates=%d errors=%d",
        channel,
        client.pk if client else None,
        source.pk if source else None,
        report.created,
        report.duplicates,
        report.failed,
    )
    return report

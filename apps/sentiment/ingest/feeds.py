"""Poll RSS/Atom feeds: conditional GET, parse with feedparser, ingest, back off on errors.

Each source keeps its own schedule on its row (`next_poll_at`). Beat claims the due ones every
30 s and queues one task per source, so a slow or broken feed delays only itself.
"""

from __future__ import annotations

import html
import logging
import time
import urllib.error
import urllib.request
from calendar import timegm
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.client import HTTPException
from typing import Any
from urllib.parse import urlsplit

import feedparser
from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.html import strip_tags

from apps.sentiment.ingest.metrics import FEED_POLLS
from apps.sentiment.ingest.services import IngestReport, articles_ingest
from apps.sentiment.models import FeedSource

logger = logging.getLogger(__name__)

ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8"
READ_CHUNK_BYTES = 64 * 1024


class FeedError(Exception):
    """The feed could not be fetched or read; the message is shown in admin."""


class FeedOutcome:
    FETCHED = "fetched"
    NOT_MODIFIED = "not_modified"
    FAILED = "failed"


@dataclass(frozen=True)
class FeedResponse:
    status: int  # 200, or 304 when the server says nothing changed
    body: bytes
    etag: str
    last_modified: str
    content_type: str
    url: str  # after redirects


@dataclass(frozen=True)
class FeedPollResult:
    source_id: int
    outcome: str
    report: IngestReport | None = None
    error: str = ""


def feed_fetch(
    *, url: str, etag: str = "", last_modified: str = "", timeout_s: float, max_bytes: int
) -> FeedResponse:
    """GET a feed, conditionally when validators are known; a 304 returns an empty body."""
    if urlsplit(url).scheme.lower() not in {"http", "https"}:
        raise FeedError(f"{url}: only http and https feeds are polled")
    headers = {"User-Agent": settings.SENTIMENT_FEED_USER_AGENT, "Accept": ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 (scheme checked above)
    deadline = time.monotonic() + timeout_s
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            chunks: list[bytes] = []
            size = 0
            # The socket timeout bounds each read; the deadline bounds a server that drips.
            while chunk := response.read(READ_CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise FeedError(f"{url}: larger than {max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise FeedError(f"{url}: still downloading after {timeout_s:g} s")
                chunks.append(chunk)
            return FeedResponse(
                status=response.status,
                body=b"".join(chunks),
                etag=response.headers.get("ETag", ""),
                last_modified=response.headers.get("Last-Modified", ""),
                content_type=response.headers.get("Content-Type", ""),
                url=response.geturl(),
            )
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return FeedResponse(
                status=304,
                body=b"",
                etag=exc.headers.get("ETag", "") or etag,
                last_modified=exc.headers.get("Last-Modified", "") or last_modified,
                content_type="",
                url=url,
            )
        raise FeedError(f"HTTP {exc.code} {exc.reason} from {url}") from exc
    except urllib.error.URLError as exc:
        raise FeedError(f"{url}: {exc.reason}") from exc
    except (TimeoutError, HTTPException, OSError) as exc:
        raise FeedError(f"{url}: {exc.__class__.__name__}: {exc}") from exc


def _plain_text(value: str) -> str:
    return " ".join(html.unescape(strip_tags(value)).split())


def _entry_time(entry: Any, fallback: datetime) -> datetime:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        parsed = entry.get(key)
        if parsed:
            return datetime.fromtimestamp(timegm(parsed), tz=UTC)
    return fallback


def feed_entry_row(entry: Any, *, fetched_at: datetime) -> dict[str, Any]:
    """A feedparser entry as an ingest row (HTML stripped: the model reads plain text)."""
    body = entry.get("summary") or ""
    if not body and entry.get("content"):
        body = entry["content"][0].get("value", "")
    return {
        "id": (entry.get("id") or entry.get("link") or "")[:300],
        "title": _plain_text(entry.get("title") or ""),
        "body": _plain_text(body),
        "url": entry.get("link") or "",
        "published_at": _entry_time(entry, fetched_at),
    }


def feed_parse(response: FeedResponse) -> list[Any]:
    parsed = feedparser.parse(
        response.body,
        response_headers={
            "content-type": response.content_type or "application/xml",
            "content-location": response.url,
        },
    )
    if not parsed.entries and (parsed.bozo or not parsed.version):
        reason = parsed.get("bozo_exception") or "no RSS or Atom document found"
        raise FeedError(f"{response.url}: not a readable feed ({reason})")
    return list(parsed.entries)


def feed_backoff_s(*, interval_s: int, failures: int) -> int:
    """Seconds until the next try after `failures` failures in a row: doubling, capped."""
    return min(interval_s * 2 ** min(failures, 20), settings.SENTIMENT_FEED_MAX_BACKOFF_S)


def _failure_record(source: FeedSource, *, now: datetime, error: str) -> None:
    failures = source.consecutive_failures + 1
    delay_s = feed_backoff_s(interval_s=source.poll_interval_s, failures=failures)
    FeedSource.objects.filter(pk=source.pk).update(
        last_polled_at=now,
        last_error=error[:2000],
        last_error_at=now,
        consecutive_failures=F("consecutive_failures") + 1,
        next_poll_at=now + timedelta(seconds=delay_s),
    )
    FEED_POLLS.labels(outcome=FeedOutcome.FAILED).inc()
    logger.warning(
        "feed poll failed source=%d failures=%d retry_in_s=%d: %s",
        source.pk,
        failures,
        delay_s,
        error,
    )


def feed_poll(*, source_id: int, now: datetime | None = None) -> FeedPollResult:
    """Poll one source and record the outcome on its row; a failure never raises."""
    source = FeedSource.objects.get(pk=source_id)
    now = now or timezone.now()
    try:
        response = feed_fetch(
            url=source.url,
            etag=source.etag,
            last_modified=source.last_modified,
            timeout_s=settings.SENTIMENT_FEED_TIMEOUT_S,
            max_bytes=settings.SENTIMENT_FEED_MAX_BYTES,
        )
        report = None
        if response.status != 304:
            entries = feed_parse(response)
            rows = [feed_entry_row(e, fetched_at=now) for e in entries]
            report = articles_ingest(rows, source=source, channel="feed", now=now)
    except FeedError as exc:
        _failure_record(source, now=now, error=str(exc))
        return FeedPollResult(source_id=source.pk, outcome=FeedOutcome.FAILED, error=str(exc))
    except Exception as exc:  # a bug or a database error: shown on the row, then raised
        _failure_record(source, now=now, error=f"{exc.__class__.__name__}: {exc}")
        raise

    outcome = FeedOutcome.NOT_MODIFIED if report is None else FeedOutcome.FETCHED
    FeedSource.objects.filter(pk=source.pk).update(
        etag=response.etag[:500],
        last_modified=response.last_modified[:100],
        last_polled_at=now,
        last_success_at=now,
        consecutive_failures=0,
        next_poll_at=now + timedelta(seconds=source.poll_interval_s),
    )
    FEED_POLLS.labels(outcome=outcome).inc()
    if report is not None and report.failed:
        logger.warning("feed source=%d had %d unusable entries", source.pk, report.failed)
    logger.info("feed polled source=%d outcome=%s", source.pk, outcome)
    return FeedPollResult(source_id=source.pk, outcome=outcome, report=report)


def feeds_due_claim(*, now: datetime | None = None, limit: int = 200) -> list[int]:
    """Ids of active sources due for a poll, each pushed a lease ahead so it is queued once.

    A poll sets the real next time; the lease only matters when a worker dies mid-poll.
    """
    now = now or timezone.now()
    lease = timedelta(seconds=settings.SENTIMENT_FEED_CLAIM_S)
    with transaction.atomic():
        due = list(
            FeedSource.objects.filter(Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now))
            .filter(active=True)
            .order_by(F("next_poll_at").asc(nulls_first=True), "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        FeedSource.objects.filter(id__in=due).update(next_poll_at=now + lease)
    return due

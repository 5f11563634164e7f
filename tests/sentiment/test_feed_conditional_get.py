"""Polling sends the validators the feed gave last time; a 304 fetches nothing, adds nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.sentiment.ingest.feeds import FeedOutcome, feed_poll
from apps.sentiment.models import Article, FeedSource
from tests.sentiment.feed_server import Route, feed_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 12, 12, 0, tzinfo=UTC)


def _source(feed_server, path: str, interval_s: int = 300) -> FeedSource:  # noqa: ANN001, F811
    return FeedSource.objects.create(
        name="Markets wire", url=feed_server.url(path), poll_interval_s=interval_s
    )


def test_second_poll_gets_a_304_and_stores_nothing_new(feed_server) -> None:  # noqa: ANN001, F811
    feed_server.routes["/rss"] = Route(file="markets.rss.xml")
    source = _source(feed_server, "/rss")

    first = feed_poll(source_id=source.id, now=NOW)
    source.refresh_from_db()
    stored = list(Article.objects.values_list("id", "title"))
    second = feed_poll(source_id=source.id, now=NOW + timedelta(minutes=5))

    assert first.outcome == FeedOutcome.FETCHED and first.report.created == 3
    assert source.etag.startswith('"') and source.last_modified == "Fri, 12 Jun 2026 10:05:00 GMT"
    assert second.outcome == FeedOutcome.NOT_MODIFIED and second.report is None
    conditional = feed_server.requests_for("/rss")[1]
    assert conditional.headers["If-None-Match"] == source.etag
    assert conditional.headers["If-Modified-Since"] == source.last_modified
    assert (conditional.status, conditional.body_bytes) == (304, 0)
    assert list(Article.objects.values_list("id", "title")) == stored
    source.refresh_from_db()
    assert source.last_success_at == NOW + timedelta(minutes=5)
    assert source.next_poll_at == NOW + timedelta(minutes=10)
    assert source.articles_added == 3


def test_last_modified_alone_is_enough_for_a_304(feed_server) -> None:  # noqa: ANN001, F811
    feed_server.routes["/rss"] = Route(file="markets.rss.xml", etag=False)
    source = _source(feed_server, "/rss")

    feed_poll(source_id=source.id, now=NOW)
    second = feed_poll(source_id=source.id, now=NOW + timedelta(minutes=5))

    conditional = feed_server.requests_for("/rss")[1]
    assert "If-None-Match" not in conditional.headers
    assert conditional.status == 304
    assert second.outcome == FeedOutcome.NOT_MODIFIED


def test_first_poll_is_unconditional(feed_server) -> None:  # noqa: ANN001, F811
    feed_server.routes["/rss"] = Route(file="markets.rss.xml")
    feed_poll(source_id=_source(feed_server, "/rss").id, now=NOW)

    first = feed_server.requests_for("/rss")[0]
    assert "If-None-Match" not in first.headers and "If-Modified-Since" not in first.headers
    assert first.status == 200


def test_changed_feed_is_fetched_and_only_its_new_entry_is_stored(feed_server) -> None:  # noqa: ANN001, F811
    feed_server.routes["/rss"] = Route(file="markets.rss.xml")
    source = _source(feed_server, "/rss")
    feed_poll(source_id=source.id, now=NOW)
    old_etag = FeedSource.objects.get(pk=source.pk).etag

    feed_server.routes["/rss"] = Route(
        file="markets-updated.rss.xml", last_modified="Fri, 12 Jun 2026 11:20:00 GMT"
    )
    result = feed_poll(source_id=source.id, now=NOW + timedelta(minutes=5))

    assert feed_server.requests_for("/rss")[1].status == 200
    assert (result.report.created, result.report.duplicates) == (1, 2)
    assert Article.objects.count() == 4
    assert Article.objects.filter(title="Acme Corp bonds slide after profit warning").exists()
    source.refresh_from_db()
    assert source.etag != old_etag
    assert source.last_modified == "Fri, 12 Jun 2026 11:20:00 GMT"

"""A broken feed (HTTP 5xx, not a feed, timeout) is recorded and backs off; others still ingest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.sentiment.ingest.feeds import FeedOutcome, feed_backoff_s, feed_poll
from apps.sentiment.models import Article, FeedSource
from tests.sentiment.feed_server import Route, feed_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 12, 12, 0, tzinfo=UTC)


def _sources(feed_server) -> tuple[FeedSource, FeedSource, FeedSource]:  # noqa: ANN001, F811
    feed_server.routes["/down"] = Route(file="markets.rss.xml", status=503)
    feed_server.routes["/html"] = Route(file="not-a-feed.html", content_type="text/html")
    feed_server.routes["/atom"] = Route(
        file="companies.atom.xml", content_type="application/atom+xml"
    )
    make = FeedSource.objects.create
    return (
        make(name="Down", url=feed_server.url("/down"), poll_interval_s=300),
        make(name="Html", url=feed_server.url("/html"), poll_interval_s=60),
        make(name="Good", url=feed_server.url("/atom"), poll_interval_s=300),
    )


def test_broken_feeds_are_recorded_and_the_good_one_still_ingests(feed_server) -> None:  # noqa: ANN001, F811
    down, html, good = _sources(feed_server)

    results = [feed_poll(source_id=s.id, now=NOW) for s in (down, html, good)]

    assert [r.outcome for r in results] == [
        FeedOutcome.FAILED,
        FeedOutcome.FAILED,
        FeedOutcome.FETCHED,
    ]
    assert Article.objects.filter(source=good).count() == 2
    down.refresh_from_db()
    html.refresh_from_db()
    good.refresh_from_db()
    assert "HTTP 503" in down.last_error
    assert "not a readable feed" in html.last_error
    assert (down.consecutive_failures, down.last_error_at, down.last_success_at) == (1, NOW, None)
    assert down.next_poll_at == NOW + timedelta(seconds=600)  # interval x 2
    assert html.next_poll_at == NOW + timedelta(seconds=120)
    assert (good.consecutive_failures, good.last_success_at, good.last_error) == (0, NOW, "")


def test_each_failure_in_a_row_doubles_the_wait_up_to_the_cap(feed_server, settings) -> None:  # noqa: ANN001, F811
    settings.SENTIMENT_FEED_MAX_BACKOFF_S = 3000
    down, _, _ = _sources(feed_server)
    waits = []
    now = NOW
    for _ in range(5):
        feed_poll(source_id=down.id, now=now)
        down.refresh_from_db()
        waits.append((down.next_poll_at - now).total_seconds())
        now = down.next_poll_at

    assert waits == [600, 1200, 2400, 3000, 3000]
    assert down.consecutive_failures == 5
    assert len(feed_server.requests_for("/down")) == 5


def test_recovery_resets_the_failures_and_keeps_the_last_error(feed_server) -> None:  # noqa: ANN001, F811
    down, _, _ = _sources(feed_server)
    feed_poll(source_id=down.id, now=NOW)
    feed_poll(source_id=down.id, now=NOW + timedelta(minutes=10))

    feed_server.routes["/down"] = Route(file="markets.rss.xml")
    result = feed_poll(source_id=down.id, now=NOW + timedelta(minutes=30))

    down.refresh_from_db()
    assert result.outcome == FeedOutcome.FETCHED
    assert down.consecutive_failures == 0
    assert down.last_success_at == NOW + timedelta(minutes=30)
    assert down.next_poll_at == NOW + timedelta(minutes=35)
    assert "HTTP 503" in down.last_error  # history stays visible in admin
    assert down.last_error_at == NOW + timedelta(minutes=10)


def test_a_feed_that_never_answers_is_a_timeout_failure(feed_server, settings) -> None:  # noqa: ANN001, F811
    settings.SENTIMENT_FEED_TIMEOUT_S = 0.5
    feed_server.routes["/hang"] = Route(hang=True)
    source = FeedSource.objects.create(name="Hang", url=feed_server.url("/hang"))

    result = feed_poll(source_id=source.id, now=NOW)

    source.refresh_from_db()
    assert result.outcome == FeedOutcome.FAILED
    assert "timed out" in source.last_error.lower()
    assert source.consecutive_failures == 1


def test_unreachable_host_and_non_http_urls_are_failures(feed_server) -> None:  # noqa: ANN001, F811
    closed = FeedSource.objects.create(name="Closed", url="http://127.0.0.1:9/feed.xml")
    local_file = FeedSource.objects.create(name="File", url="file:///etc/passwd")

    assert feed_poll(source_id=closed.id, now=NOW).outcome == FeedOutcome.FAILED
    assert feed_poll(source_id=local_file.id, now=NOW).outcome == FeedOutcome.FAILED
    local_file.refresh_from_db()
    assert "only http and https" in local_file.last_error
    assert Article.objects.count() == 0


def test_backoff_formula() -> None:
    assert [feed_backoff_s(interval_s=60, failures=n) for n in (1, 2, 3)] == [120, 240, 480]

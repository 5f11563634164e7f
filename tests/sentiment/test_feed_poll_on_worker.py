"""Beat's `sentiment.poll_due_feeds` on a real worker queues and runs one poll per due feed."""

from __future__ import annotations

import time

import pytest

from apps.sentiment.models import Article, FeedSource
from apps.sentiment.tasks.ingest import poll_due_feeds
from tests.sentiment.feed_server import Route, feed_server  # noqa: F401 (fixture)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _wait_for(predicate, timeout_s: float = 60) -> None:  # noqa: ANN001
    # A deadline only against a hung worker; the test asserts the outcome, not the time.
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("the worker did not finish the polls")
        time.sleep(0.2)


def test_due_feeds_are_polled_by_the_worker_and_a_broken_one_is_recorded(
    celery_worker_process,  # noqa: ANN001
    feed_server,  # noqa: ANN001, F811
) -> None:
    feed_server.routes["/rss"] = Route(file="markets.rss.xml")
    feed_server.routes["/down"] = Route(status=500)
    good = FeedSource.objects.create(name="Markets", url=feed_server.url("/rss"))
    broken = FeedSource.objects.create(name="Down", url=feed_server.url("/down"))

    queued = poll_due_feeds.delay().get(timeout=60)

    assert queued == 2
    _wait_for(
        lambda: FeedSource.objects.filter(last_polled_at__isnull=False).count() == 2,
    )
    good.refresh_from_db()
    broken.refresh_from_db()
    assert Article.objects.filter(source=good).count() == 3
    assert (good.articles_added, good.consecutive_failures) == (3, 0)
    assert good.last_success_at is not None and good.etag
    assert (broken.consecutive_failures, broken.last_success_at) == (1, None)
    assert "HTTP 500" in broken.last_error
    assert feed_server.requests_for("/rss")[0].headers["User-Agent"].startswith("Tessera")

"""Beat queues each due, active feed once per due time; its own interval decides the next."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.sentiment.ingest.feeds import feeds_due_claim
from apps.sentiment.models import FeedSource

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 12, 12, 0, tzinfo=UTC)


def _source(name: str, **fields) -> FeedSource:  # noqa: ANN003
    return FeedSource.objects.create(name=name, url=f"http://127.0.0.1:9/{name}.xml", **fields)


def test_new_and_due_active_feeds_are_claimed_once(settings) -> None:  # noqa: ANN001
    settings.SENTIMENT_FEED_CLAIM_S = 600
    new = _source("new")
    due = _source("due", next_poll_at=NOW - timedelta(seconds=1))
    _source("later", next_poll_at=NOW + timedelta(seconds=1))
    _source("off", active=False)

    first = feeds_due_claim(now=NOW)
    again = feeds_due_claim(now=NOW + timedelta(seconds=30))

    assert first == [new.id, due.id]  # never-polled first
    assert [FeedSource.objects.get(pk=i).next_poll_at for i in first] == [
        NOW + timedelta(seconds=600)
    ] * 2
    assert again == [FeedSource.objects.get(name="later").id]


def test_a_claim_left_by_a_dead_worker_expires(settings) -> None:  # noqa: ANN001
    settings.SENTIMENT_FEED_CLAIM_S = 600
    source = _source("orphan")
    feeds_due_claim(now=NOW)
    assert feeds_due_claim(now=NOW + timedelta(seconds=599)) == []
    assert feeds_due_claim(now=NOW + timedelta(seconds=600)) == [source.id]

"""Celery tasks: ingest (feed polling). Thin: the work is in apps.sentiment.ingest.feeds."""

from __future__ import annotations

from celery import shared_task

from apps.sentiment.ingest import feeds


@shared_task(name="sentiment.poll_due_feeds")
def poll_due_feeds() -> int:
    """Beat, every 30 s: queue one poll per due feed, so one slow feed holds up no other."""
    source_ids = feeds.feeds_due_claim()
    for source_id in source_ids:
        poll_feed.delay(source_id)
    return len(source_ids)


@shared_task(name="sentiment.poll_feed", acks_late=True)
def poll_feed(source_id: int) -> str:
    """Poll one feed; the outcome (and any error) is recorded on its FeedSource row."""
    return feeds.feed_poll(source_id=source_id).outcome

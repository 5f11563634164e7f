"""Ingest metrics (tessera_sentiment_*): rows by outcome, feed polls by outcome."""

from __future__ import annotations

from prometheus_client import Counter

INGEST_ROWS = Counter(
    "tessera_sentiment_ingest_rows",
    "Delivered article rows by channel (api, feed, import) and outcome",
    ["channel", "status"],
)
FEED_POLLS = Counter(
    "tessera_sentiment_feed_polls",
    "Feed polls by outcome (fetched, not_modified, failed)",
    ["outcome"],
)

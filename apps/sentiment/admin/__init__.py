"""Admin for the sentiment monitor, one module per area."""

from apps.sentiment.admin import alerts, ingest, labels, topics  # noqa: F401

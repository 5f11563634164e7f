"""Celery tasks of the monitor, one module per pipeline part (thin: they call services)."""

from apps.sentiment.tasks import alerts, ingest, understanding  # noqa: F401

"""Fixtures and row builders shared by the ingest, push API and import tests."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.sentiment.models import IngestClient

PUSH_URL = "/api/sentiment/articles/"
PUBLISHED = datetime(2026, 6, 12, 9, 30, tzinfo=UTC)


def article_row(n: int, **overrides: Any) -> dict[str, Any]:
    """A valid push row whose id, URL and text all follow `n`."""
    row = {
        "id": f"wire-{n}",
        "title": f"Company {n} cuts its full-year guidance",
        "body": f"Company {n} lowered its outlook after weak orders in quarter {n}.",
        "url": f"https://news.example.com/markets/story-{n}",
        "source": "Example Wire",
        "published_at": PUBLISHED.isoformat(),
        "language": "en",
    }
    row.update(overrides)
    return row


@pytest.fixture
def ingest_client_and_key(db: None) -> tuple[IngestClient, str]:
    return IngestClient.create_with_key(name="wire-pusher")


@pytest.fixture
def push_client(ingest_client_and_key: tuple[IngestClient, str]) -> APIClient:
    """An HTTP client that sends the wire-pusher's key."""
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=ingest_client_and_key[1])
    return client

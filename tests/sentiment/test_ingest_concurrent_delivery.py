"""The same articles delivered at the same moment by several connections: stored once, no 500."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from apps.sentiment.ingest.services import articles_ingest
from apps.sentiment.models import Article, IngestClient
from tests.sentiment.ingest_fixtures import article_row

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

DELIVERIES = 4


def _deliver_concurrently(batches: list[list[dict]], client: IngestClient | None) -> list:
    barrier = threading.Barrier(len(batches))
    reports: list = [None] * len(batches)
    errors: list[BaseException] = []

    def deliver(slot: int) -> None:
        try:
            barrier.wait()
            reports[slot] = articles_ingest(batches[slot], client=client)
        except BaseException as exc:  # noqa: BLE001 (handed to the test thread)
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(len(batches))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return reports


def test_same_batch_from_one_client_is_stored_once() -> None:
    client, _ = IngestClient.create_with_key(name="retrying-pusher")
    rows = [article_row(n) for n in range(30)]

    reports = _deliver_concurrently([rows] * DELIVERIES, client)

    assert Article.objects.count() == 30
    created = sorted(i for report in reports for i in report.created_ids)
    assert created == sorted(Article.objects.values_list("id", flat=True))
    for report in reports:  # every delivery names the same stored article for each row
        assert [r.article_id for r in report.results] == [
            Article.objects.get(external_id=row["id"]).id for row in rows
        ]


def test_overlapping_batches_in_opposite_order_from_feeds_are_stored_once() -> None:
    rows = [article_row(n, id="") for n in range(30)]
    batches = [rows, rows[::-1], rows[10:] + rows[:10], rows[::-1]]

    reports = _deliver_concurrently(batches, None)

    assert Article.objects.count() == 30
    assert sum(report.created for report in reports) == 30
    assert all(report.failed == 0 for report in reports)

"""Through a real worker: a new item is in similar results once synced; a removed one is gone
before the worker has done anything."""

from __future__ import annotations

import os
import signal

import pytest

from apps.recommender.models import Item
from tests.recommender.conftest import ShopApiClient, indexed_ids, item, wait_for_index

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_upserted_items_reach_similar_results_and_removals_leave_at_once(
    shop: ShopApiClient,
    celery_worker_process,  # noqa: ANN001
) -> None:
    shop.items(
        item("pan-1", "Cast iron frying pan", "kitchen"),
        item("tea-1", "Green tea leaves", "food"),
        item("shoe-1", "Trail running shoe", "shoes"),
    )
    wait_for_index(lambda ids: len(ids) == 3)
    assert shop.item_ids("items/pan-1/similar/", k=1) != ["pan-2"]

    shop.items(item("pan-2", "Non-stick frying pan", "kitchen"))
    pan_2 = Item.objects.get(external_id="pan-2").id
    wait_for_index(lambda ids: pan_2 in ids)
    assert shop.item_ids("items/pan-1/similar/", k=1) == ["pan-2"]

    os.killpg(celery_worker_process.pid, signal.SIGSTOP)  # no index update can run now
    try:
        assert shop.delete("items/pan-2/").status_code == 204
        assert pan_2 in indexed_ids()
        assert "pan-2" not in shop.item_ids("items/pan-1/similar/", k=3)
    finally:
        os.killpg(celery_worker_process.pid, signal.SIGCONT)
    wait_for_index(lambda ids: pan_2 not in ids)

"""recommender.next_item trains from Event rows on a real Celery worker, is promoted, and
`next_item_scores` ranks a client's candidates with it (new items by their text)."""

from __future__ import annotations

import math
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.recommender.models import EventType
from apps.recommender.next_item import next_item_scores
from apps.recommender.training import NEXT_ITEM_TASK
from ml.registry import selectors, services
from ml.registry.models import ModelVersion
from tests.recommender.factories import (
    EventFactory,
    ItemFactory,
    ShopClientFactory,
    ShopUserFactory,
)

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

N_ITEMS = 12
SMALL = {
    "dim": 16,
    "layers": 1,
    "heads": 2,
    "max_len": 8,
    "epochs": 30,
    "patience": 0,
    "batch_size": 16,
    "learning_rate": 1e-2,
    "dropout": 0.0,
    "device": "cpu",
}


def wait_until_finished(version_id: int, worker, timeout_s: float = 300) -> ModelVersion:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        version = ModelVersion.objects.get(id=version_id)
        if version.status in (ModelVersion.Status.READY, ModelVersion.Status.FAILED):
            return version
        assert worker.poll() is None, worker.log_path.read_text()
        time.sleep(0.3)
    raise AssertionError(f"version {version_id} not done:\n{worker.log_path.read_text()[-3000:]}")


def shop_with_walks():  # noqa: ANN201
    """One shop whose users walk its catalogue in order (item k, then k + 1, ...)."""
    client = ShopClientFactory()
    items = [ItemFactory(client=client, title=f"Gadget number {k}") for k in range(N_ITEMS)]
    start = timezone.now() - timedelta(days=1)
    kinds = [EventType.VIEW, EventType.CLICK, EventType.PURCHASE]
    for user_index in range(36):
        user = ShopUserFactory(client=client)
        first = user_index % N_ITEMS
        for step in range(6):
            EventFactory(
                user=user,
                item=items[(first + step) % N_ITEMS],
                type=kinds[step % 3],
                occurred_at=start + timedelta(minutes=user_index * 10 + step),
            )
    return client, items


def test_next_item_trains_on_worker_then_scores_a_clients_candidates(
    celery_worker_process, tiny_model_dir
) -> None:  # noqa: ANN001
    client, items = shop_with_walks()
    other_item = ItemFactory(client=ShopClientFactory(), title="Another shop's gadget")
    ids = [item.id for item in items]
    assert next_item_scores(client_id=client.id, recent_item_ids=ids[:3], candidate_ids=ids) is None

    version = services.model_version_queue(
        task=NEXT_ITEM_TASK, base_model=str(tiny_model_dir), hyperparameters=SMALL
    )
    assert version.task_type == "next_item"
    version = wait_until_finished(version.id, celery_worker_process)
    assert version.status == ModelVersion.Status.READY, version.error
    assert version.celery_task_id
    assert version.dataset_size == 36 * 6 and version.dataset_fingerprint
    assert 0.0 <= version.metrics["ndcg_at_10"] <= 1.0
    assert math.isfinite(version.metrics["recall_at_10"])
    assert version.metrics["users"] == 36
    assert version.metrics["ndcg_at_10"] > version.metrics["popularity_ndcg_at_10"]

    services.model_version_promote(version=version)
    assert selectors.production_version(task=NEXT_ITEM_TASK) == version
    time.sleep(0.3)  # the predictor cache re-asks the registry every ML_MODEL_REFRESH_S

    new_item = ItemFactory(client=client, title="Gadget number 4 deluxe")  # after training
    candidates = [*ids, new_item.id, other_item.id]
    result = next_item_scores(
        client_id=client.id, recent_item_ids=ids[2:5], candidate_ids=candidates
    )
    assert result is not None
    assert result.version_id == version.id
    assert set(result.scores) == {*ids, new_item.id}  # never another shop's item
    unseen = {i: s for i, s in result.scores.items() if i not in ids[2:5]}
    assert max(unseen, key=unseen.get) == ids[5]  # the walk goes on

    pinned = next_item_scores(
        client_id=client.id, recent_item_ids=ids[2:5], candidate_ids=ids, version_id=version.id
    )
    assert pinned is not None and pinned.version_id == version.id
    assert (
        next_item_scores(
            client_id=client.id, recent_item_ids=ids[:2], candidate_ids=ids, version_id=10**9
        )
        is None
    )

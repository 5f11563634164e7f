"""With a promoted recommender.next_item version the API ranks with it and names it; an
experiment variant can pin another version."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.recommender.models import Experiment, ShopUser, Variant
from apps.recommender.training import NEXT_ITEM_TASK
from ml.registry import services
from ml.registry.models import ModelVersion
from tests.e2e.test_next_item_on_worker import SMALL, shop_with_walks, wait_until_finished
from tests.recommender.factories import EventFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_recommendations_are_ranked_by_the_promoted_model(
    celery_worker_process,  # noqa: ANN001
    tiny_model_dir,  # noqa: ANN001
) -> None:
    client, items = shop_with_walks()
    http = APIClient()
    http.credentials(HTTP_X_API_KEY=f"key-{client.name}")
    now = timezone.now()
    walker = ShopUser.objects.create(client=client, external_id="walker")
    for step, item in enumerate(items[2:5]):
        EventFactory(user=walker, item=item, occurred_at=now - timedelta(minutes=10 - step))

    before = http.get("/api/recommender/users/walker/recommendations/", {"k": 3}).json()
    assert before["model_version"] is None

    version = services.model_version_queue(
        task=NEXT_ITEM_TASK, base_model=str(tiny_model_dir), hyperparameters=SMALL
    )
    version = wait_until_finished(version.id, celery_worker_process)
    assert version.status == ModelVersion.Status.READY, version.error
    services.model_version_promote(version=version)
    time.sleep(0.3)  # the predictor cache re-asks the registry every ML_MODEL_REFRESH_S
    body = http.get("/api/recommender/users/walker/recommendations/", {"k": 3}).json()
    assert body["model_version"] == f"{NEXT_ITEM_TASK} v{version.version}"
    found = [row["item_id"] for row in body["items"]]
    assert items[5].external_id in found  # the walk goes on: 2, 3, 4 -> 5

    experiment = Experiment.objects.create(
        client=client, name="pinned", salt="p", status=Experiment.Status.RUNNING
    )
    Variant.objects.create(
        experiment=experiment, name="v-pinned", model_version=version, traffic_share=1.0
    )
    pinned = http.get("/api/recommender/users/walker/recommendations/", {"k": 3}).json()
    assert pinned["variant"] == "v-pinned"
    assert pinned["model_version"] == f"{NEXT_ITEM_TASK} v{version.version}"

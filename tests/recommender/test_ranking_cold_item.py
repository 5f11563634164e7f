"""A brand-new item, upserted through the API after the ranking model was trained, is ranked
at once by its text: the served model places it by its similarity to the user's recent items
(ml.recsys.blend.place_cold), not at the bottom with the items nobody has touched."""

from __future__ import annotations

import time

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.recommender.models import Item
from apps.recommender.selectors import items_for_response
from apps.recommender.services.candidates import Candidate
from apps.recommender.services.ranking import model_scores, rank
from apps.recommender.training import NEXT_ITEM_TASK
from ml.registry import services
from ml.registry.models import ModelVersion
from tests.e2e.test_next_item_on_worker import SMALL, shop_with_walks, wait_until_finished

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_a_new_item_is_ranked_by_its_text_right_after_its_upsert(
    celery_worker_process,  # noqa: ANN001
    tiny_model_dir,  # noqa: ANN001
) -> None:
    client, items = shop_with_walks()
    version = services.model_version_queue(
        task=NEXT_ITEM_TASK, base_model=str(tiny_model_dir), hyperparameters=SMALL
    )
    version = wait_until_finished(version.id, celery_worker_process)
    assert version.status == ModelVersion.Status.READY, version.error
    # every item had events, so validation could not weigh the placement: the prior holds
    assert version.metrics["blend"]["cold_after"] == 2
    services.model_version_promote(version=version)
    time.sleep(0.3)  # the predictor cache re-asks the registry every ML_MODEL_REFRESH_S

    http = APIClient()
    http.credentials(HTTP_X_API_KEY=f"key-{client.name}")
    response = http.post(
        "/api/recommender/items/",
        {
            "items": [
                {"external_id": "new-like", "title": "Gadget number 4 deluxe"},
                {"external_id": "new-other", "title": "Garden hose reel, green rubber"},
            ]
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    like = Item.objects.get(client=client, external_id="new-like")
    other = Item.objects.get(client=client, external_id="new-other")

    recent = [item.id for item in items[2:5]]
    candidate_ids = [item.id for item in items if item.id not in recent] + [like.id, other.id]
    scores = model_scores(client_id=client.id, recent_item_ids=recent, candidate_ids=candidate_ids)
    assert scores.version_id == version.id
    assert {like.id, other.id} <= set(scores.scores)
    by_model = sorted(scores.scores, key=scores.scores.get, reverse=True)
    assert by_model.index(like.id) == 2  # after the two best items the model knows
    assert scores.scores[like.id] > scores.scores[other.id]

    candidates = {i: Candidate(i, source="popular", source_score=1.0) for i in candidate_ids}
    ranked = rank(
        candidates=candidates,
        rows=items_for_response(client_id=client.id, item_ids=candidate_ids),
        popularity={},
        model=scores,
        now=timezone.now(),
        k=len(candidate_ids),
    )
    order = [r.item.id for r in ranked]
    assert order.index(like.id) < order.index(other.id)
    assert order.index(like.id) <= 3

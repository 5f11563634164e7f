"""The scheduled retrain queues one `recommender.next_item` version, and only when it should."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings

from apps.recommender.tasks.ranking import next_item_retrain
from apps.recommender.training import NEXT_ITEM_TASK, RetrainSkipped, next_item_retrain_queue
from ml.registry.models import ModelVersion
from ml.registry.services import InvalidTrainingRequest, model_version_queue
from tests.recommender.factories import EventFactory

pytestmark = pytest.mark.django_db


def test_beat_runs_the_retrain_daily_by_default() -> None:
    entry = django_settings.CELERY_BEAT_SCHEDULE["recommender-next-item-retrain"]
    assert entry["task"] == "recommender.next_item_retrain"
    assert entry["schedule"].total_seconds() == 24 * 3600


def test_retrain_queues_a_next_item_version_once(settings) -> None:  # noqa: ANN001
    settings.RECOMMENDER_NEXT_ITEM_MIN_EVENTS = 3
    EventFactory.create_batch(3)
    version = next_item_retrain_queue()
    assert version.task == NEXT_ITEM_TASK
    assert version.task_type == "next_item"
    assert version.status == ModelVersion.Status.QUEUED
    assert version.hyperparameters == settings.RECOMMENDER_NEXT_ITEM_HYPERPARAMETERS
    with pytest.raises(RetrainSkipped, match="still queued"):
        next_item_retrain_queue()
    assert next_item_retrain() is None  # the task logs the skip instead of failing
    assert ModelVersion.objects.filter(task=NEXT_ITEM_TASK).count() == 1


def test_retrain_waits_for_enough_events(settings) -> None:  # noqa: ANN001
    settings.RECOMMENDER_NEXT_ITEM_MIN_EVENTS = 5
    EventFactory.create_batch(4)
    assert next_item_retrain() is None
    assert not ModelVersion.objects.filter(task=NEXT_ITEM_TASK).exists()
    EventFactory()
    assert next_item_retrain() == ModelVersion.objects.get(task=NEXT_ITEM_TASK).id


def test_next_item_requests_are_validated_before_queueing(tmp_path) -> None:  # noqa: ANN001
    csv = tmp_path / "rows.csv"
    csv.write_text("text,label\na,b\n")
    with pytest.raises(InvalidTrainingRequest, match="not from a CSV file"):
        model_version_queue(task=NEXT_ITEM_TASK, dataset_path=str(csv))
    with pytest.raises(InvalidTrainingRequest, match="unknown next-item"):
        model_version_queue(task=NEXT_ITEM_TASK, hyperparameters={"epochz": 2})
    with pytest.raises(InvalidTrainingRequest, match="not from a CSV file"):
        model_version_queue(task="shop.other", task_type="next_item")
    assert not ModelVersion.objects.exists()

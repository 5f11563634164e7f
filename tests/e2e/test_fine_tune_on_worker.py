"""A fine-tune queued from admin runs on a real Celery worker, is promoted, serves, rolls back."""

from __future__ import annotations

import time

import pytest
from django.urls import reverse

from ml.registry import selectors
from ml.registry.models import ModelVersion
from tests.conftest import TINY_HYPERPARAMETERS

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for_status(version_id: int, worker, timeout_s: float = 240) -> ModelVersion:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    seen_progress = set()
    while time.monotonic() < deadline:
        version = ModelVersion.objects.get(id=version_id)
        seen_progress.add(round(version.progress, 2))
        if version.status in (ModelVersion.Status.READY, ModelVersion.Status.FAILED):
            version.seen_progress = seen_progress
            return version
        assert worker.poll() is None, worker.log_path.read_text()
        time.sleep(0.3)
    raise AssertionError(
        f"version {version_id} not finished:\n{worker.log_path.read_text()[-3000:]}"
    )


def admin_action(client, action: str, versions: list[ModelVersion]):  # noqa: ANN001, ANN201
    return client.post(
        reverse("admin:registry_modelversion_changelist"),
        {"action": action, "_selected_action": [v.id for v in versions]},
        follow=True,
    )


def test_admin_queued_fine_tune_runs_on_worker_then_promote_predict_rollback(
    admin_client, celery_worker_process, tiny_model_dir, tiny_dataset_csv
):
    import json

    add_url = reverse("admin:registry_modelversion_add")
    response = admin_client.post(
        add_url,
        {
            "task": "demo.topic",
            "task_type": "classification",
            "base_model": str(tiny_model_dir),
            "dataset_path": str(tiny_dataset_csv),
            "hyperparameters": json.dumps(TINY_HYPERPARAMETERS),
            "notes": "first",
        },
        follow=True,
    )
    assert response.status_code == 200, response.content[:2000]
    v1 = ModelVersion.objects.get(task="demo.topic", version=1)

    v1 = wait_for_status(v1.id, celery_worker_process)
    assert v1.status == ModelVersion.Status.READY, v1.error
    assert v1.celery_task_id and v1.metrics["accuracy"] >= 0.8

    admin_action(admin_client, "promote", [v1])
    assert selectors.production_version(task="demo.topic") == v1

    predict_url = reverse("registry:task-predict", args=["demo.topic"])
    answer = admin_client.post(
        predict_url, {"texts": ["my card is not working"]}, content_type="application/json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["predictions"][0]["label"] == "card"
    assert answer.json()["predictions"][0]["version"] == f"{v1.id}:v1"

    admin_action(admin_client, "retrain", [v1])
    v2 = wait_for_status(
        ModelVersion.objects.get(task="demo.topic", version=2).id, celery_worker_process
    )
    assert v2.status == ModelVersion.Status.READY, v2.error
    admin_action(admin_client, "promote", [v2])
    assert selectors.production_version(task="demo.topic") == v2
    time.sleep(0.3)  # the predictor cache re-asks the registry every ML_MODEL_REFRESH_S
    answer = admin_client.post(predict_url, {"texts": ["refund"]}, content_type="application/json")
    assert answer.json()["predictions"][0]["version"] == f"{v2.id}:v2"

    page = admin_action(admin_client, "rollback", [v2])
    assert b"rolled back to demo.topic v1" in page.content
    assert selectors.production_version(task="demo.topic") == v1

"""Queuing a version sends the training task by name, and it reaches the registered task."""

from __future__ import annotations

import pytest

from ml.registry import services
from ml.registry.models import ModelVersion
from tests.conftest import TINY_HYPERPARAMETERS

pytestmark = pytest.mark.django_db


def test_a_queued_version_is_trained_by_the_task_sent_by_name(
    tiny_model_dir, tiny_dataset_csv, artifacts_dir, monkeypatch, django_capture_on_commit_callbacks
):
    from config.celery import app

    # Eager mode runs the registered task in-process; a name nobody registered would go to
    # the broker instead (send_task ignores eager mode) and leave the version queued.
    monkeypatch.setitem(app.conf, "task_always_eager", True)
    with django_capture_on_commit_callbacks(execute=True):
        version = services.model_version_queue(
            task="demo.topic",
            base_model=str(tiny_model_dir),
            dataset_path=str(tiny_dataset_csv),
            hyperparameters=TINY_HYPERPARAMETERS,
        )

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.READY
    assert version.celery_task_id  # the eager result's id, written back by the enqueue

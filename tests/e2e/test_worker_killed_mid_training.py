"""A worker killed mid-fine-tune never leaves a version `ready` with a half-written artifact."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from ml.registry import services
from ml.registry.models import ModelVersion
from tests.conftest import TINY_HYPERPARAMETERS

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def test_killed_worker_leaves_the_version_failed_not_ready(
    celery_worker_process, tiny_model_dir, tiny_dataset_csv, settings
):
    version = services.model_version_queue(
        task="demo.killed",
        base_model=str(tiny_model_dir),
        dataset_path=str(tiny_dataset_csv),
        hyperparameters={**TINY_HYPERPARAMETERS, "epochs": 400},
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        version.refresh_from_db()
        if version.status == ModelVersion.Status.TRAINING and version.progress > 0.05:
            break
        time.sleep(0.2)
    assert version.status == ModelVersion.Status.TRAINING, (
        celery_worker_process.log_path.read_text()
    )

    os.killpg(celery_worker_process.pid, signal.SIGKILL)  # the whole worker, mid-epoch
    celery_worker_process.wait(timeout=30)

    version.refresh_from_db()
    assert version.status == ModelVersion.Status.TRAINING  # nobody could mark it anything
    assert not version.artifact_path
    assert not (
        Path(settings.ML_ARTIFACTS_DIR) / "models" / "demo.killed" / "v1" / "model"
    ).exists()

    settings.ML_TRAINING_STALE_S = 0  # beat's reaper, as if the heartbeat went silent long ago
    assert services.model_version_reap_stale() == 1
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.FAILED and "worker died" in version.error
    with pytest.raises(Exception, match="only ready versions"):
        services.model_version_promote(version=version)

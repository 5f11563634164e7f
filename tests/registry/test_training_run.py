"""A queued version trains to `ready` (or fails/cancels cleanly) and can be served."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from ml.registry import services, serving
from ml.registry.models import ModelVersion
from tests.conftest import TINY_HYPERPARAMETERS
from tests.registry.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


def queue(tiny_model_dir: Path, csv: Path, **overrides) -> ModelVersion:
    return services.model_version_queue(
        task="demo.topic",
        base_model=str(tiny_model_dir),
        dataset_path=str(csv),
        hyperparameters={**TINY_HYPERPARAMETERS, **overrides},
    )


def test_queue_numbers_versions_per_task(tiny_model_dir, tiny_dataset_csv):
    first = queue(tiny_model_dir, tiny_dataset_csv)
    second = queue(tiny_model_dir, tiny_dataset_csv)
    assert (first.version, second.version) == (1, 2)
    assert first.status == ModelVersion.Status.QUEUED


def test_queue_rejects_unknown_hyperparameters(tiny_model_dir, tiny_dataset_csv):
    with pytest.raises(services.InvalidTrainingRequest, match="learnin_rate"):
        queue(tiny_model_dir, tiny_dataset_csv, learnin_rate=1e-3)
    assert not ModelVersion.objects.exists()


def test_queue_rejects_a_missing_base_model(tiny_dataset_csv, tmp_path):
    with pytest.raises(services.InvalidTrainingRequest, match="ML_BASE_MODEL"):
        queue(tmp_path / "nope", tiny_dataset_csv)


def test_queue_needs_a_dataset_for_tasks_without_a_builder(tiny_model_dir):
    with pytest.raises(services.InvalidTrainingRequest, match="dataset_path"):
        services.model_version_queue(task="unknown.task", base_model=str(tiny_model_dir))


def test_train_writes_metrics_artifact_and_snapshot(
    tiny_model_dir, tiny_dataset_csv, artifacts_dir
):
    version = queue(tiny_model_dir, tiny_dataset_csv)

    trained = services.model_version_train(version_id=version.id)

    assert trained.status == ModelVersion.Status.READY
    assert trained.progress == 1.0
    assert trained.metrics["accuracy"] >= 0.8
    assert len(trained.dataset_fingerprint) == 64 and trained.dataset_size == 96
    assert Path(trained.artifact_path).is_dir()
    assert Path(trained.artifact_path).is_relative_to(artifacts_dir)
    assert (Path(trained.artifact_path).parent / "dataset.csv").is_file()
    # a redelivered message for a finished version does nothing
    assert services.model_version_train(version_id=version.id) is None


def test_promoted_version_serves_predictions(tiny_model_dir, tiny_dataset_csv):
    version = services.model_version_train(version_id=queue(tiny_model_dir, tiny_dataset_csv).id)
    services.model_version_promote(version=version)
    serving.predictor_cache.invalidate("demo.topic")

    answers = serving.predict_texts("demo.topic", ["i forgot my password", "refund please"])

    assert [ranked[0][0] for _, ranked in answers] == ["password", "refund"]
    assert answers[0][0] == f"{version.id}:v{version.version}"


def test_failed_training_records_the_error(tiny_model_dir, tmp_path):
    bad = tmp_path / "one_label.csv"
    bad.write_text("text,label\n" + "".join(f"text {i},same\n" for i in range(10)))
    version = services.model_version_queue(
        task="demo.topic", base_model=str(tiny_model_dir), dataset_path=str(bad)
    )
    with pytest.raises(services.InvalidTrainingRequest):
        services.model_version_train(version_id=version.id)
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.FAILED
    assert "need at least 4 and 2" in version.error


def test_cancelled_before_start_is_not_trained(tiny_model_dir, tiny_dataset_csv):
    version = queue(tiny_model_dir, tiny_dataset_csv)
    services.model_version_cancel(version=version)
    assert services.model_version_train(version_id=version.id) is None
    version.refresh_from_db()
    assert version.status == ModelVersion.Status.CANCELLED and not version.artifact_path


def test_reaper_fails_runs_whose_worker_died(settings):
    stale = ModelVersionFactory(
        status=ModelVersion.Status.TRAINING,
        progress=0.4,
        heartbeat_at=timezone.now() - timedelta(seconds=settings.ML_TRAINING_STALE_S + 5),
    )
    alive = ModelVersionFactory(status=ModelVersion.Status.TRAINING, heartbeat_at=timezone.now())

    assert services.model_version_reap_stale() == 1
    stale.refresh_from_db()
    alive.refresh_from_db()
    assert stale.status == ModelVersion.Status.FAILED and "worker died" in stale.error
    assert alive.status == ModelVersion.Status.TRAINING

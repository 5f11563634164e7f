"""Running a fine-tune (called by the Celery task), cancelling it, reaping dead runs."""

from __future__ import annotations

import dataclasses
import logging
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ml.errors import Conflict
from ml.registry.catalog import training_task_get
from ml.registry.models import ModelVersion
from ml.registry.services.next_item import next_item_version_train
from ml.registry.services.queueing import InvalidTrainingRequest, version_dir
from ml.training import (
    Example,
    TaskKind,
    TrainConfig,
    TrainingCancelled,
    TrainResult,
    dataset_fingerprint,
    read_examples_csv,
    train_text_model,
    write_examples_csv,
)

logger = logging.getLogger(__name__)

PROGRESS_WRITE_INTERVAL_S = 1.0
CANCEL_CHECK_INTERVAL_S = 2.0


def _snapshot_dataset(version: ModelVersion, target: Path) -> list[Example]:
    """Freeze the training rows in the version's folder, so the run is reproducible."""
    spec = training_task_get(version.task)
    if version.dataset_path:
        examples = read_examples_csv(Path(version.dataset_path))
    elif spec is not None and spec.build_dataset is not None:
        examples = list(spec.build_dataset())
    else:
        raise InvalidTrainingRequest(
            f"task {version.task!r} has no dataset builder or dataset_path"
        )
    if len(examples) < 4 or len({e.label for e in examples}) < 2:
        raise InvalidTrainingRequest(
            f"{version.task} has {len(examples)} examples over "
            f"{len({e.label for e in examples})} labels; need at least 4 and 2"
        )
    write_examples_csv(target, examples)
    return examples


class _ProgressWriter:
    """Throttled progress + heartbeat writes to the row, and the cancel check."""

    def __init__(self, version_id: int, echo: Callable[[float, str], None] | None = None) -> None:
        self.version_id = version_id
        self.echo = echo
        self._last_write = 0.0
        self._last_cancel_check = 0.0

    def __call__(self, fraction: float, message: str) -> None:
        if self.echo is not None:
            self.echo(fraction, message)
        now = time.monotonic()
        if now - self._last_write < PROGRESS_WRITE_INTERVAL_S and fraction < 1.0:
            return
        self._last_write = now
        ModelVersion.objects.filter(id=self.version_id, status=ModelVersion.Status.TRAINING).update(
            progress=max(0.0, min(1.0, float(fraction))),
            status_message=message[:300],
            heartbeat_at=timezone.now(),
        )

    def should_stop(self) -> bool:
        now = time.monotonic()
        if now - self._last_cancel_check < CANCEL_CHECK_INTERVAL_S:
            return False
        self._last_cancel_check = now
        return ModelVersion.objects.filter(
            id=self.version_id, status=ModelVersion.Status.CANCELLED
        ).exists()


def _claim(version_id: int, celery_task_id: str) -> ModelVersion | None:
    """Mark the row training, unless it is finished or another live worker holds it."""
    with transaction.atomic():
        try:
            version = ModelVersion.objects.select_for_update().get(id=version_id)
        except ModelVersion.DoesNotExist:
            logger.warning("training skipped: version id=%s no longer exists", version_id)
            return None
        if version.status not in (ModelVersion.Status.QUEUED, ModelVersion.Status.TRAINING):
            logger.info("training skipped id=%s status=%s", version_id, version.status)
            return None
        stale_before = timezone.now() - timedelta(seconds=settings.ML_TRAINING_STALE_S)
        if (
            version.status == ModelVersion.Status.TRAINING
            and version.heartbeat_at is not None
            and version.heartbeat_at > stale_before
            and version.celery_task_id not in ("", celery_task_id)
        ):
            logger.info("training skipped id=%s: another worker is on it", version_id)
            return None
        now = timezone.now()
        version.status = ModelVersion.Status.TRAINING
        version.started_at = now
        version.heartbeat_at = now
        version.progress = 0.0
        version.error = ""
        version.status_message = "preparing the data set"
        if celery_task_id:
            version.celery_task_id = celery_task_id
        version.save()
        return version


def _text_model_train(
    version: ModelVersion, folder: Path, model_dir: Path, reporter: _ProgressWriter
) -> TrainResult:
    """Fine-tune a classification or pair model; its extra metrics join `result.metrics`."""
    examples = _snapshot_dataset(version, folder / "dataset.csv")
    ModelVersion.objects.filter(id=version.id).update(
        dataset_fingerprint=dataset_fingerprint(examples), dataset_size=len(examples)
    )
    config = TrainConfig.from_dict(
        Path(version.base_model),
        {
            **version.hyperparameters,
            "task_type": version.task_type,
            "device": settings.ML_DEVICE,
        },
    )
    spec = training_task_get(version.task)
    extra = None if version.dataset_path or spec is None else spec.extra_metrics
    # With an extra evaluation (e.g. cross-validation: several more fine-tunes) the model's
    # own training is shown as the first third of the bar.
    share = 1.0 if extra is None else 1 / 3

    def train_progress(fraction: float, message: str) -> None:
        reporter(fraction * share if fraction < 1.0 else share, message)

    result = train_text_model(
        config, examples, model_dir, progress=train_progress, should_stop=reporter.should_stop
    )
    metrics = dict(result.metrics)
    if extra is not None:

        def extra_progress(fraction: float, message: str) -> None:
            reporter(min(0.99, share + (1 - share) * fraction), message)

        metrics.update(
            extra(
                config,
                examples,
                artifact_dir=result.artifact_dir,
                progress=extra_progress,
                should_stop=reporter.should_stop,
            )
        )
    return dataclasses.replace(result, metrics=metrics)


def model_version_train(
    *,
    version_id: int,
    celery_task_id: str = "",
    on_progress: Callable[[float, str], None] | None = None,
) -> ModelVersion | None:
    """Run one queued fine-tune to `ready` (or `failed`/`cancelled`); safe to run twice."""
    version = _claim(version_id, celery_task_id)
    if version is None:
        return None
    folder = version_dir(version)
    folder.mkdir(parents=True, exist_ok=True)
    model_dir = folder / "model"
    reporter = _ProgressWriter(version.id, echo=on_progress)
    try:
        # Leftovers of a killed earlier run (never marked ready): start clean.
        for leftover in [model_dir, *folder.glob(f"{model_dir.name}.tmp-*")]:
            if leftover.exists():
                shutil.rmtree(leftover)
        if version.task_type == TaskKind.NEXT_ITEM:
            result = next_item_version_train(
                version=version,
                folder=folder,
                model_dir=model_dir,
                progress=reporter,
                should_stop=reporter.should_stop,
            )
        else:
            result = _text_model_train(version, folder, model_dir, reporter)
    except TrainingCancelled:
        logger.info("training cancelled id=%s", version.id)
        ModelVersion.objects.filter(id=version.id).update(
            status=ModelVersion.Status.CANCELLED,
            finished_at=timezone.now(),
            status_message="cancelled",
        )
        return ModelVersion.objects.get(id=version.id)
    except Exception as exc:
        logger.exception("training failed id=%s", version.id)
        ModelVersion.objects.filter(id=version.id).update(
            status=ModelVersion.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:5000],
            status_message="failed",
            finished_at=timezone.now(),
        )
        raise
    updated = ModelVersion.objects.filter(
        id=version.id, status=ModelVersion.Status.TRAINING
    ).update(
        status=ModelVersion.Status.READY,
        progress=1.0,
        status_message="ready",
        metrics=result.metrics,
        artifact_path=str(result.artifact_dir),
        device=result.device,
        train_seconds=round(result.train_seconds, 2),
        finished_at=timezone.now(),
    )
    if not updated:
        logger.info("training finished id=%s but the row was cancelled meanwhile", version.id)
    logger.info(
        "training ready task=%s version=%s seconds=%.1f",
        version.task,
        version.version,
        result.train_seconds,
    )
    return ModelVersion.objects.get(id=version.id)


def model_version_cancel(*, version: ModelVersion) -> ModelVersion:
    updated = ModelVersion.objects.filter(
        id=version.id, status__in=[ModelVersion.Status.QUEUED, ModelVersion.Status.TRAINING]
    ).update(status=ModelVersion.Status.CANCELLED, status_message="cancel requested")
    if not updated:
        raise Conflict(
            f"{version} is {version.status}; only queued or training runs can be cancelled"
        )
    return ModelVersion.objects.get(id=version.id)


def model_version_reap_stale() -> int:
    """Fail rows whose worker stopped heartbeating (killed without redelivery)."""
    stale_before = timezone.now() - timedelta(seconds=settings.ML_TRAINING_STALE_S)
    count = ModelVersion.objects.filter(
        status=ModelVersion.Status.TRAINING, heartbeat_at__lt=stale_before
    ).update(
        status=ModelVersion.Status.FAILED,
        error=f"no heartbeat for {settings.ML_TRAINING_STALE_S} s: the worker died; retrain it",
        status_message="failed",
        finished_at=timezone.now(),
    )
    if count:
        logger.warning("reaped %s stale training runs", count)
    return count

"""Registry writes: queue a fine-tune, run it, and move versions between stages."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from ml.errors import Conflict, NotFound, ServiceError
from ml.registry.catalog import training_task_get
from ml.registry.models import ModelStageEvent, ModelVersion
from ml.registry.scoring import scoring_run_queue
from ml.training import (
    TRAINABLE_KINDS,
    Example,
    TaskKind,
    TrainConfig,
    TrainingCancelled,
    dataset_fingerprint,
    read_examples_csv,
    train_text_model,
    write_examples_csv,
)

logger = logging.getLogger(__name__)

TRAIN_TASK_NAME = "ml.train_model_version"  # ml/tasks.py registers it; routed to the gpu queue
PROGRESS_WRITE_INTERVAL_S = 1.0
CANCEL_CHECK_INTERVAL_S = 2.0


class InvalidTrainingRequest(ServiceError):
    code = "invalid_training_request"


def artifacts_root() -> Path:
    return Path(settings.ML_ARTIFACTS_DIR)


def version_dir(version: ModelVersion) -> Path:
    return artifacts_root() / "models" / version.task.replace("/", "_") / f"v{version.version}"


def training_request_validate(
    *,
    task: str,
    task_type: TaskKind | str | None = None,
    base_model: str | None = None,
    dataset_path: str = "",
    hyperparameters: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Check a training request before anything is saved; returns the normalised fields."""
    task = (task or "").strip()
    if not task:
        raise InvalidTrainingRequest(
            "task is required, e.g. chat.intent", extra={"task": "required"}
        )
    spec = training_task_get(task)
    base_model = (base_model or settings.ML_BASE_MODEL or "").strip()
    task_type = task_type or (spec.task_type if spec else TaskKind.CLASSIFICATION)
    if task_type not in TRAINABLE_KINDS:
        raise InvalidTrainingRequest(
            f"task_type={task_type!r} is not one of {', '.join(TRAINABLE_KINDS)}",
            extra={"task_type": "invalid"},
        )
    task_type = TaskKind(task_type)
    if not base_model or not (Path(base_model) / "config.json").exists():
        raise InvalidTrainingRequest(
            f"base model {base_model!r} is not a local model directory with config.json; "
            "set ML_BASE_MODEL or give base_model",
            extra={"base_model": "not a model directory"},
        )
    if dataset_path:
        if not Path(dataset_path).is_file():
            raise InvalidTrainingRequest(
                f"dataset_path {dataset_path!r} is not a readable file",
                extra={"dataset_path": "not found"},
            )
    elif spec is None or spec.build_dataset is None:
        raise InvalidTrainingRequest(
            f"task {task!r} has no dataset builder; "
            "give dataset_path (CSV: text,label[,text_pair])",
            extra={"dataset_path": "required for this task"},
        )
    params = {**(spec.default_hyperparameters if spec else {}), **(hyperparameters or {})}
    params.pop("task_type", None)
    try:
        TrainConfig.from_dict(Path(base_model), {**params, "task_type": task_type})
    except (TypeError, ValueError) as exc:
        raise InvalidTrainingRequest(str(exc), extra={"hyperparameters": str(exc)}) from exc
    return {
        "task": task,
        "task_type": task_type,
        "base_model": base_model,
        "dataset_path": dataset_path,
        "hyperparameters": params,
    }


def model_version_queue(
    *,
    task: str,
    task_type: TaskKind | str | None = None,
    base_model: str | None = None,
    dataset_path: str = "",
    hyperparameters: dict[str, Any] | None = None,
    created_by: Any = None,
    notes: str = "",
    enqueue: bool = True,
) -> ModelVersion:
    """Save a queued version, then (after commit) send it to the `gpu` queue.

    `enqueue=False` leaves it for the caller to train in-process (the demo's first setup).
    """
    fields = training_request_validate(
        task=task,
        task_type=task_type,
        base_model=base_model,
        dataset_path=dataset_path,
        hyperparameters=hyperparameters,
    )
    for _attempt in range(5):
        try:
            with transaction.atomic():
                last = ModelVersion.objects.filter(task=fields["task"]).aggregate(n=Max("version"))
                version = ModelVersion.objects.create(
                    **fields,
                    version=(last["n"] or 0) + 1,
                    created_by=created_by if getattr(created_by, "pk", None) else None,
                    notes=notes,
                    status_message="waiting for a worker",
                )
                if enqueue:
                    transaction.on_commit(lambda v=version: _enqueue_training(v.id))
            break
        except IntegrityError:  # two requests took the same number: take the next one
            continue
    else:
        raise Conflict(f"could not allocate a version number for {fields['task']}; try again")
    logger.info(
        "training queued task=%s version=%s id=%s", version.task, version.version, version.id
    )
    return version


def _enqueue_training(version_id: int) -> None:
    # By name, not by importing ml.tasks (which imports this module): the registered task's
    # apply_async is used when the app knows it (routing, eager mode), send_task otherwise.
    result = current_app.signature(TRAIN_TASK_NAME, args=(version_id,)).apply_async()
    ModelVersion.objects.filter(id=version_id, celery_task_id="").update(celery_task_id=result.id)


def model_version_retrain(*, version: ModelVersion, created_by: Any = None) -> ModelVersion:
    return model_version_queue(
        task=version.task,
        task_type=version.task_type,
        base_model=version.base_model,
        dataset_path=version.dataset_path,
        hyperparameters=version.hyperparameters,
        created_by=created_by,
        notes=f"retrain of v{version.version}",
    )


# --- running a fine-tune (called by the Celery task) ------------------------------------------


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
        # Leftovers of a killed earlier run (never marked ready): start clean.
        for leftover in [model_dir, *folder.glob(f"{model_dir.name}.tmp-*")]:
            if leftover.exists():
                shutil.rmtree(leftover)
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
        metrics=metrics,
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


# --- stages ------------------------------------------------------------------------------------


def model_version_promote(*, version: ModelVersion, actor: Any = None) -> ModelVersion:
    """Make `version` the task's production model; the previous one is archived."""
    with transaction.atomic():
        rows = {
            row.id: row
            for row in ModelVersion.objects.select_for_update().filter(task=version.task)
        }
        target = rows.get(version.id)
        if target is None:
            raise NotFound(f"model version id={version.id} does not exist")
        if target.status != ModelVersion.Status.READY:
            raise Conflict(f"{target} is {target.status}; only ready versions can be promoted")
        if target.stage == ModelVersion.Stage.PRODUCTION:
            return target
        current = next((r for r in rows.values() if r.stage == ModelVersion.Stage.PRODUCTION), None)
        if current is not None:
            current.stage = ModelVersion.Stage.ARCHIVED
            current.save(update_fields=["stage"])
        target.stage = ModelVersion.Stage.PRODUCTION
        target.promoted_at = timezone.now()
        target.save(update_fields=["stage", "promoted_at"])
        ModelStageEvent.objects.create(
            task=target.task,
            action=ModelStageEvent.Action.PROMOTE,
            from_version=current,
            to_version=target,
            actor=actor if getattr(actor, "pk", None) else None,
        )
        # The app's batch-scored items get the new model's answers (sent after commit).
        scoring_run_queue(version=target)
    logger.info("promoted %s (previous: %s)", target, current)
    return target


def model_version_rollback(*, task: str, actor: Any = None) -> ModelVersion:
    """Put back the version that production had before the current one was promoted."""
    with transaction.atomic():
        rows = {row.id: row for row in ModelVersion.objects.select_for_update().filter(task=task)}
        current = next((r for r in rows.values() if r.stage == ModelVersion.Stage.PRODUCTION), None)
        if current is None:
            raise Conflict(f"{task} has no production version to roll back")
        promotion = (
            ModelStageEvent.objects.filter(
                task=task, action=ModelStageEvent.Action.PROMOTE, to_version_id=current.id
            )
            .order_by("-created_at", "-id")
            .first()
        )
        previous = (
            rows.get(promotion.from_version_id) if promotion and promotion.from_version_id else None
        )
        if previous is None or previous.status != ModelVersion.Status.READY:
            raise Conflict(f"{current} has no earlier production version to roll back to")
        current.stage = ModelVersion.Stage.ARCHIVED
        current.save(update_fields=["stage"])
        previous.stage = ModelVersion.Stage.PRODUCTION
        previous.promoted_at = timezone.now()
        previous.save(update_fields=["stage", "promoted_at"])
        ModelStageEvent.objects.create(
            task=task,
            action=ModelStageEvent.Action.ROLLBACK,
            from_version=current,
            to_version=previous,
            actor=actor if getattr(actor, "pk", None) else None,
        )
        scoring_run_queue(version=previous)
    logger.info("rolled back %s: %s -> %s", task, current, previous)
    return previous


def model_version_archive(*, version: ModelVersion) -> ModelVersion:
    version.refresh_from_db()
    if version.stage == ModelVersion.Stage.PRODUCTION:
        raise Conflict(f"{version} is in production; promote another version or roll back first")
    if version.is_active:
        raise Conflict(f"{version} is {version.status}; cancel it before archiving")
    version.stage = ModelVersion.Stage.ARCHIVED
    version.save(update_fields=["stage"])
    return version

"""Registry writes that create versions: validate a training request, save it, queue it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max

from ml.errors import Conflict, ServiceError
from ml.recsys.config import NextItemConfig
from ml.registry.catalog import training_task_get
from ml.registry.models import ModelVersion
from ml.training import REGISTRY_KINDS, TaskKind, TrainConfig

logger = logging.getLogger(__name__)

TRAIN_TASK_NAME = "ml.train_model_version"  # ml/tasks.py registers it; routed to the gpu queue


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
    if task_type not in REGISTRY_KINDS:
        raise InvalidTrainingRequest(
            f"task_type={task_type!r} is not one of {', '.join(REGISTRY_KINDS)}",
            extra={"task_type": "invalid"},
        )
    task_type = TaskKind(task_type)
    if not base_model or not (Path(base_model) / "config.json").exists():
        raise InvalidTrainingRequest(
            f"base model {base_model!r} is not a local model directory with config.json; "
            "set ML_BASE_MODEL or give base_model",
            extra={"base_model": "not a model directory"},
        )
    if task_type is TaskKind.NEXT_ITEM and (dataset_path or spec is None or not spec.build_dataset):
        raise InvalidTrainingRequest(
            f"task {task!r} is a next-item ranker: it trains from its app's interactions "
            "(a registered task with a dataset builder), not from a CSV file",
            extra={"dataset_path": "not supported for next_item tasks"},
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
        if task_type is TaskKind.NEXT_ITEM:
            NextItemConfig.from_dict(params)
        else:
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

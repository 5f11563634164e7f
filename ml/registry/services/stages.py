"""Moving versions between stages: promote, roll back, archive."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from ml.errors import Conflict, NotFound
from ml.registry.models import ModelStageEvent, ModelVersion
from ml.registry.scoring import scoring_run_queue

logger = logging.getLogger(__name__)


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

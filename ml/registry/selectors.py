from __future__ import annotations

from django.db.models import Count

from ml.registry.models import ModelVersion


def production_version(*, task: str) -> ModelVersion | None:
    return ModelVersion.objects.filter(task=task, stage=ModelVersion.Stage.PRODUCTION).first()


def ready_version(*, version_id: int) -> ModelVersion | None:
    return ModelVersion.objects.filter(id=version_id, status=ModelVersion.Status.READY).first()


def production_versions() -> list[ModelVersion]:
    return list(ModelVersion.objects.filter(stage=ModelVersion.Stage.PRODUCTION).order_by("task"))


def model_version_counts() -> dict[tuple[str, str], int]:
    rows = ModelVersion.objects.values("task", "status").annotate(n=Count("id"))
    return {(row["task"], row["status"]): row["n"] for row in rows}

"""Celery tasks of the ML core: thin, idempotent, taking ids (the work is in services)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="ml.train_model_version", bind=True, acks_late=True)
def train_model_version(self, version_id: int) -> str | None:  # noqa: ANN001
    from ml.registry import services

    version = services.model_version_train(
        version_id=version_id, celery_task_id=self.request.id or ""
    )
    return version.status if version else None


@shared_task(name="ml.reap_stale_training")
def reap_stale_training() -> int:
    from ml.registry import services

    return services.model_version_reap_stale()

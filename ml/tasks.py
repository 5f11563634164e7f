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


@shared_task(name="ml.score_batch", acks_late=True)
def score_batch(task: str, item_ids: list[int]) -> dict[str, int | str | None]:
    """Score items with `task`'s production version (on the `gpu` queue); the app stores them."""
    from ml.registry import scoring

    result = scoring.items_score(task=task, item_ids=item_ids)
    return {"task": result.task, "version": result.version, "scored": result.scored}


@shared_task(name="ml.rescore_run", bind=True, acks_late=True)
def rescore_run(self, run_id: int) -> str | None:  # noqa: ANN001
    """Re-score an app's recent items after a promotion, chunk by chunk, with progress."""
    from ml.registry import scoring

    run = scoring.scoring_run_execute(run_id=run_id, celery_task_id=self.request.id or "")
    return run.status if run else None

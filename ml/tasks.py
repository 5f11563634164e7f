"""Celery tasks of the ML core: thin, idempotent, taking ids (the work is in services)."""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from celery import shared_task
from celery.signals import worker_ready

logger = logging.getLogger(__name__)


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


# --- named vector indexes (ml/registry/indexes/): on the `gpu` queue, embedding is model work


@shared_task(name="ml.index_sync", acks_late=True)
def index_sync(name: str, ids: list[int]) -> dict[str, Any]:
    from ml.registry import indexes

    return dataclasses.asdict(indexes.index_sync(name=name, ids=ids))


@shared_task(name="ml.index_rebuild", acks_late=True)
def index_rebuild(name: str) -> int:
    from ml.registry import indexes

    return indexes.index_rebuild(name=name)


@shared_task(name="ml.index_ensure_current", acks_late=True)
def index_ensure_current(name: str) -> dict[str, Any]:
    from ml.registry import indexes

    return dataclasses.asdict(indexes.index_ensure_current(name=name))


@worker_ready.connect
def indexes_checked_on_worker_start(sender: Any = None, **kwargs: Any) -> None:
    """A worker that starts after ML_BASE_MODEL changed has every index rebuilt for it."""
    from ml.registry import indexes

    names = indexes.index_ensure_current_queue_all()
    logger.info("queued ensure-current for indexes %s", names)


# --- batch scoring (ml/registry/scoring.py): on the `gpu` queue


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

"""Batch scoring with a task's production version, and re-scoring after a promotion.

Both run on the `gpu` workers (ml/tasks.py): the model is loaded there through the predictor
cache, never in a web process. The app's BatchScoringHandler (ml/registry/plugins.py) gives
the texts of item ids and stores what the model said about them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from celery import current_app
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ml.errors import NotFound
from ml.registry import serving
from ml.registry.models import ModelVersion, ScoringRun
from ml.registry.plugins import BatchScoringHandler, ScoredItem, batch_scoring_handler_get
from ml.serving.scoring import texts_score

logger = logging.getLogger(__name__)

# Texts per forward pass. bench/results/batch_scoring.json (fine-tuned MiniLM, Banking77, 2
# busy CPU cores, same run): 382 texts/s at 16, 305 at 64, 265 at 128, 83 one at a time; the
# smaller batch pads less. Not measured on a GPU, where larger batches may pay.
FORWARD_BATCH_SIZE = 16
TOP_LABELS = 5  # (label, probability) pairs kept per item for the handler


class ScoringNotRegistered(NotFound):
    code = "scoring_not_registered"


@dataclass(frozen=True)
class BatchScoreResult:
    task: str
    version_id: int | None  # None when none of the ids had a text (nothing was scored)
    version: int | None
    scored: int
    missing: int  # ids the handler had no text for (deleted meanwhile)


def _handler(task: str) -> BatchScoringHandler:
    handler = batch_scoring_handler_get(task)
    if handler is None:
        raise ScoringNotRegistered(
            f"no app registered a batch-scoring handler for task {task!r}; register one with "
            "ml.registry.plugins.batch_scoring_register in the app's AppConfig.ready()"
        )
    return handler


def items_score(*, task: str, item_ids: Sequence[int]) -> BatchScoreResult:
    """Score the items' texts with `task`'s production version; the handler stores the result.

    Raises ModelNotAvailable when the task has no production version.
    """
    handler = _handler(task)
    unique_ids = list(dict.fromkeys(int(item_id) for item_id in item_ids))
    texts = handler.texts(unique_ids)
    ids = [item_id for item_id in unique_ids if item_id in texts]
    if not ids:
        return BatchScoreResult(task, None, None, scored=0, missing=len(unique_ids))
    # Ask the registry now rather than after ML_MODEL_REFRESH_S: right after a promotion the
    # new version must score (one indexed query per batch; the model reloads only on change).
    serving.predictor_cache.invalidate(task)
    model = serving.predictor_cache.get(task)
    version_key = serving.predictor_cache.current_version(task) or ""
    version_id, _, number = version_key.partition(":v")
    scores = texts_score(
        model, [texts[i] for i in ids], batch_size=FORWARD_BATCH_SIZE, top_k=TOP_LABELS
    )
    items = [
        ScoredItem(
            item_id=item_id,
            label=score.label,
            confidence=score.confidence,
            probabilities=score.probabilities,
            version_id=int(version_id),
            version=int(number),
        )
        for item_id, score in zip(ids, scores, strict=True)
    ]
    handler.store(items)
    logger.info("scored task=%s version=%s items=%d", task, version_key, len(items))
    return BatchScoreResult(
        task, int(version_id), int(number), scored=len(items), missing=len(unique_ids) - len(ids)
    )


# --- re-scoring after a promotion ----------------------------------------------------------------


def scoring_run_queue(*, version: ModelVersion) -> ScoringRun | None:
    """After `version` is promoted: save a run and (on commit) send it to the `gpu` queue.

    None when no app re-scores this task. Sent by name, so the registry's services never
    import ml/tasks.py (which imports them).
    """
    handler = batch_scoring_handler_get(version.task)
    if handler is None or handler.recent_ids is None:
        return None
    run = ScoringRun.objects.create(task=version.task, version=version)
    transaction.on_commit(lambda run_id=run.id: _send(run_id))
    logger.info("re-scoring queued task=%s version=%s run=%s", version.task, version, run.id)
    return run


def _send(run_id: int) -> None:
    if current_app.conf.task_always_eager:  # no worker (local runs, some tests): run it here,
        scoring_run_execute(run_id=run_id)  # as .delay() would; send_task ignores eager mode
        return
    # A re-scoring is a backlog (hours of old rows): below fresh work on the same queue, so a
    # one-worker deployment keeps scoring new items (and alerting) while it runs.
    result = current_app.send_task(
        "ml.rescore_run", args=[run_id], priority=settings.ML_RESCORE_PRIORITY
    )
    ScoringRun.objects.filter(id=run_id, celery_task_id="").update(celery_task_id=result.id)


def _claim(run_id: int, celery_task_id: str) -> ScoringRun | None:
    """Mark the run running (again, if a worker died mid-run: re-scoring is idempotent)."""
    with transaction.atomic():
        run = ScoringRun.objects.select_for_update().filter(id=run_id).first()
        if run is None:
            logger.warning("re-scoring skipped: run id=%s no longer exists", run_id)
            return None
        if run.status not in (ScoringRun.Status.QUEUED, ScoringRun.Status.RUNNING):
            logger.info("re-scoring skipped run=%s status=%s", run_id, run.status)
            return None
        run.status, run.started_at, run.done, run.error = "running", timezone.now(), 0, ""
        if celery_task_id:
            run.celery_task_id = celery_task_id
        run.save()
        return run


def scoring_run_execute(*, run_id: int, celery_task_id: str = "") -> ScoringRun | None:
    """Walk the handler's recent window in chunks, writing progress after each chunk.

    A failure writes status=failed and the error on the run, then re-raises.
    """
    run = _claim(run_id, celery_task_id)
    if run is None:
        return None
    try:
        handler = _handler(run.task)
        if handler.recent_ids is None:
            raise ScoringNotRegistered(f"the {run.task!r} handler has no recent_ids to re-score")
        ids = list(dict.fromkeys(int(i) for i in handler.recent_ids()))
        ScoringRun.objects.filter(id=run.id).update(total=len(ids), done=0)
        for start in range(0, len(ids), handler.chunk_size):
            chunk = ids[start : start + handler.chunk_size]
            items_score(task=run.task, item_ids=chunk)
            ScoringRun.objects.filter(id=run.id).update(done=start + len(chunk))
    except Exception as exc:
        logger.exception("re-scoring failed run=%s task=%s", run.id, run.task)
        ScoringRun.objects.filter(id=run.id).update(
            status=ScoringRun.Status.FAILED,
            error=f"{type(exc).__name__}: {exc}"[:5000],
            finished_at=timezone.now(),
        )
        raise
    ScoringRun.objects.filter(id=run.id).update(
        status=ScoringRun.Status.DONE, finished_at=timezone.now()
    )
    logger.info("re-scoring done run=%s task=%s items=%d", run.id, run.task, len(ids))
    return ScoringRun.objects.get(id=run.id)

"""Celery tasks: the ranking model."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="recommender.next_item_retrain")
def next_item_retrain() -> int | None:
    """Beat: queue a new `recommender.next_item` version (trained on the `gpu` queue)."""
    from apps.recommender.training import RetrainSkipped, next_item_retrain_queue

    try:
        version = next_item_retrain_queue()
    except RetrainSkipped as exc:
        logger.info("next-item retrain skipped: %s", exc.message)
        return None
    return version.id

"""Online serving helpers: micro-batching of requests and a hot-swapping model cache."""

from __future__ import annotations

from ml.serving.batcher import BatcherClosed, BatcherStats, MicroBatcher
from ml.serving.cache import ModelNotAvailable, PredictorCache

__all__ = [
    "BatcherClosed",
    "BatcherStats",
    "MicroBatcher",
    "ModelNotAvailable",
    "PredictorCache",
]

"""Online serving helpers: micro-batching, a hot-swapping model cache, a GC-quiet heap."""

from __future__ import annotations

from ml.serving.batcher import BatcherClosed, BatcherStats, MicroBatcher
from ml.serving.cache import ModelNotAvailable, PredictorCache
from ml.serving.heap import freeze_long_lived

__all__ = [
    "BatcherClosed",
    "BatcherStats",
    "MicroBatcher",
    "ModelNotAvailable",
    "PredictorCache",
    "freeze_long_lived",
]

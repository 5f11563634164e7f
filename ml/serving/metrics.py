"""Prometheus metrics of model serving, defined here so `ml/` needs nothing from the apps.

They join the default registry on import; the project's `/metrics` view exports them with
every other metric.
"""

from __future__ import annotations

from prometheus_client import Histogram

MODEL_INFERENCE_SECONDS = Histogram(
    "tessera_model_inference_seconds",
    "Time of one batched forward pass",
    ["task"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
MODEL_BATCH_SIZE = Histogram(
    "tessera_model_batch_size",
    "Items per batched forward pass",
    ["task"],
    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
)


def observe_batch(task: str, batch_size: int, seconds: float) -> None:
    MODEL_BATCH_SIZE.labels(task=task).observe(batch_size)
    MODEL_INFERENCE_SECONDS.labels(task=task).observe(seconds)

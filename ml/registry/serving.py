"""Per-process serving glue: production models, the shared encoder, and their batchers.

Online paths (a chat reply, a recommendation) call these in the web process; they never go
through the broker. The predictor cache re-asks the registry every ML_MODEL_REFRESH_S, so a
promotion done anywhere reaches every web process within seconds.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings

from ml.embeddings import Encoder, EncoderConfig
from ml.registry import selectors
from ml.serving import MicroBatcher, ModelNotAvailable, PredictorCache, freeze_long_lived
from ml.serving.metrics import observe_batch
from ml.training import TextModel, load_text_model

logger = logging.getLogger(__name__)

__all__ = [
    "ModelNotAvailable",
    "encode_texts",
    "get_encoder",
    "predict_texts",
    "predictor_cache",
    "production_models_status",
]


def _resolve(task: str) -> tuple[str, Path] | None:
    version = selectors.production_version(task=task)
    if version is None or not version.artifact_path:
        return None
    return f"{version.id}:v{version.version}", Path(version.artifact_path)


def _load(artifact_dir: Path) -> TextModel:
    return load_text_model(artifact_dir, device=settings.ML_DEVICE)


predictor_cache: PredictorCache = PredictorCache(
    loader=_load, resolver=_resolve, check_interval_s=settings.ML_MODEL_REFRESH_S
)

_lock = threading.Lock()
_encoder: Encoder | None = None
_batchers: dict[str, MicroBatcher] = {}


def get_encoder() -> Encoder:
    """The base encoder, loaded once per process (ML_BASE_MODEL, ML_DEVICE, ML_ENCODER_*)."""
    global _encoder
    if _encoder is None:
        with _lock:
            if _encoder is None:
                _encoder = Encoder(
                    EncoderConfig(
                        model_dir=Path(settings.ML_BASE_MODEL),
                        device=settings.ML_DEVICE,
                        batch_size=settings.ML_ENCODER_BATCH_SIZE,
                        quantize_int8=settings.ML_ENCODER_INT8,
                        runtime=settings.ML_ENCODER_RUNTIME,
                        precision=settings.ML_ENCODER_PRECISION,
                        onnx_cache_dir=Path(settings.ML_ARTIFACTS_DIR) / "onnx",
                    )
                )
                freeze_long_lived("loading the base encoder")
    return _encoder


def _batcher(name: str, batch_fn: Any) -> MicroBatcher:
    batcher = _batchers.get(name)
    if batcher is None:
        with _lock:
            batcher = _batchers.get(name)
            if batcher is None:
                batcher = MicroBatcher(
                    batch_fn,
                    max_batch_size=settings.ML_BATCH_MAX_SIZE,
                    max_wait_ms=settings.ML_BATCH_MAX_WAIT_MS,
                    name=name,
                    enabled=settings.ML_BATCHING,
                    on_batch=lambda size, seconds, task=name: observe_batch(task, size, seconds),
                )
                _batchers[name] = batcher
    return batcher


def _encode_batch(texts: list[str]) -> list[Any]:
    vectors = get_encoder().encode(texts)
    return list(vectors)


def encode_texts(texts: Sequence[str]) -> list[Any]:
    """Embed texts through the shared micro-batcher (one forward pass for concurrent callers)."""
    futures = _batcher("encoder", _encode_batch).submit_many(list(texts))
    return [future.result() for future in futures]


def _predict_batch(task: str, items: list[tuple[str, str | None]]) -> list[Any]:
    model = predictor_cache.get(task)
    version_key = predictor_cache.current_version(task) or ""
    pairs = [pair for _, pair in items]
    probabilities = model.predict_proba(
        [text for text, _ in items], pairs if any(p is not None for p in pairs) else None
    )
    return [
        (
            version_key,
            sorted(zip(model.labels, map(float, row), strict=True), key=lambda lp: -lp[1]),
        )
        for row in probabilities
    ]


def predict_texts(
    task: str, texts: Sequence[str], text_pairs: Sequence[str] | None = None
) -> list[tuple[str, list[tuple[str, float]]]]:
    """Class probabilities from the task's production model, batched across callers.

    Returns, per text, the version key that answered and (label, probability) high to low.
    """
    predictor_cache.get(task)  # fail fast (ModelNotAvailable) before queueing anything
    pairs = list(text_pairs) if text_pairs is not None else [None] * len(texts)
    items = list(zip(texts, pairs, strict=True))
    futures = _batcher(f"predict:{task}", functools.partial(_predict_batch, task)).submit_many(
        items
    )
    return [future.result() for future in futures]


def production_models_status(*, load_missing: bool = False) -> dict[str, dict[str, Any]]:
    """Which production models this process has loaded; optionally start loading the rest."""
    status: dict[str, dict[str, Any]] = {}
    for version in selectors.production_versions():
        key = f"{version.id}:v{version.version}"
        loaded = predictor_cache.current_version(version.task) == key
        status[version.task] = {"version": version.version, "loaded": loaded}
        if not loaded and load_missing:
            _load_in_background(version.task)
    return status


_loading: set[str] = set()


def _load_in_background(task: str) -> None:
    """Warm a model without blocking a health check; one loader thread per task at a time."""
    with _lock:
        if task in _loading:
            return
        _loading.add(task)

    def run() -> None:
        started = time.perf_counter()
        try:
            predictor_cache.invalidate(task)
            predictor_cache.get(task)
            logger.info(
                "loaded production model task=%s in %.1fs", task, time.perf_counter() - started
            )
        except Exception:
            logger.exception("could not load production model task=%s", task)
        finally:
            from django.db import connection

            connection.close()
            with _lock:
                _loading.discard(task)

    threading.Thread(target=run, name=f"load-{task}", daemon=True).start()

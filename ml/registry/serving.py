"""Per-process serving glue: production models, the encoders, their batchers, app warm-ups.

Online paths (a chat reply, a recommendation) call these in the web process; they never go
through the broker. The predictor cache re-asks the registry every ML_MODEL_REFRESH_S, so a
promotion done anywhere reaches every web process within seconds. A web process holds only
the tasks the apps declared for the web (ml/registry/plugins.py); one encoder is loaded per
base model directory, so apps may choose different bases.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from ml.embeddings import Encoder, EncoderConfig
from ml.errors import ServiceError
from ml.registry import selectors
from ml.registry.plugins import AppServingSpec, app_serving_list, web_tasks
from ml.serving import MicroBatcher, ModelNotAvailable, PredictorCache, freeze_long_lived
from ml.serving.metrics import observe_batch
from ml.serving.warmup import DONE, OFF, WarmUp, start_warm_up, warm_up_status
from ml.training import TextModel, load_text_model

logger = logging.getLogger(__name__)

__all__ = [
    "AppServingStatus",
    "ModelNotAvailable",
    "app_serving_statuses",
    "batcher_names",
    "encode_texts",
    "encoders_loaded",
    "get_encoder",
    "predict_texts",
    "predictor_cache",
    "production_models_status",
    "version_model",
    "web_warm_ups_start",
]


def _resolve(task: str) -> tuple[str, Path] | None:
    version = selectors.production_version(task=task)
    if version is None or not version.artifact_path:
        return None
    return f"{version.id}:v{version.version}", Path(version.artifact_path)


def _load(artifact_dir: Path) -> Any:
    """A text model, or a next-item ranker (told apart by the manifest the artifact holds)."""
    from ml.recsys.artifact import is_next_item_artifact, load_next_item_model

    if is_next_item_artifact(artifact_dir):
        return load_next_item_model(artifact_dir, device=settings.ML_DEVICE)
    return load_text_model(
        artifact_dir, device=settings.ML_DEVICE, quantize_int8=settings.ML_CLASSIFIER_INT8
    )


predictor_cache: PredictorCache = PredictorCache(
    loader=_load, resolver=_resolve, check_interval_s=settings.ML_MODEL_REFRESH_S
)

_lock = threading.Lock()
_pinned: OrderedDict[int, tuple[str, Any]] = OrderedDict()  # version id -> (key, model)
PINNED_VERSIONS_KEPT = 4
_encoders: dict[str, Encoder] = {}
_batchers: dict[str, MicroBatcher] = {}


def version_model(version_id: int) -> tuple[str, Any] | None:
    """(version key, model) of one ready version, whatever its stage: an A/B test's variant
    may name a candidate. None when it does not exist or is not ready. The last
    PINNED_VERSIONS_KEPT are kept loaded (artifacts never change once written)."""
    with _lock:
        if version_id in _pinned:
            _pinned.move_to_end(version_id)
            return _pinned[version_id]
    version = selectors.ready_version(version_id=version_id)
    if version is None or not version.artifact_path:
        return None
    loaded = (f"{version.id}:v{version.version}", _load(Path(version.artifact_path)))
    with _lock:
        _pinned[version_id] = loaded
        while len(_pinned) > PINNED_VERSIONS_KEPT:
            _pinned.popitem(last=False)
    return loaded


def _encoder_key(model_dir: Path | str | None) -> str:
    return str(Path(model_dir if model_dir is not None else settings.ML_BASE_MODEL))


def get_encoder(model_dir: Path | None = None) -> Encoder:
    """The encoder of `model_dir` (default ML_BASE_MODEL), loaded once per process and dir.

    Device, runtime, precision and int8 come from ML_DEVICE and ML_ENCODER_*, the same for all.
    """
    key = _encoder_key(model_dir)
    encoder = _encoders.get(key)
    if encoder is None:
        with _lock:
            encoder = _encoders.get(key)
            if encoder is None:
                encoder = Encoder(
                    EncoderConfig(
                        model_dir=Path(key),
                        device=settings.ML_DEVICE,
                        batch_size=settings.ML_ENCODER_BATCH_SIZE,
                        quantize_int8=settings.ML_ENCODER_INT8,
                        runtime=settings.ML_ENCODER_RUNTIME,
                        precision=settings.ML_ENCODER_PRECISION,
                        onnx_cache_dir=Path(settings.ML_ARTIFACTS_DIR) / "onnx",
                    )
                )
                _encoders[key] = encoder
                freeze_long_lived(f"loading the encoder {key}")
    return encoder


def encoders_loaded() -> list[str]:
    """Model directories of the encoders this process has loaded."""
    with _lock:
        return sorted(_encoders)


def batcher_names() -> list[str]:
    """Names of the micro-batchers this process has started ("encoder", "predict:<task>")."""
    with _lock:
        return sorted(_batchers)


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


def _encode_batch(model_dir: Path | None, texts: list[str]) -> list[Any]:
    vectors = get_encoder(model_dir).encode(texts)
    return list(vectors)


def encode_texts(texts: Sequence[str], *, model_dir: Path | None = None) -> list[Any]:
    """Embed texts through the encoder's micro-batcher (one forward pass for concurrent callers).

    `model_dir` picks another base encoder than ML_BASE_MODEL; each has its own batcher.
    """
    name = "encoder" if model_dir is None else f"encoder:{_encoder_key(model_dir)}"
    batcher = _batcher(name, functools.partial(_encode_batch, model_dir))
    futures = batcher.submit_many(list(texts))
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
    model = predictor_cache.get(task)  # fail fast (ModelNotAvailable) before queueing anything
    if not isinstance(model, TextModel):
        raise ServiceError(
            f"task {task!r} is not a text model ({type(model).__name__}); it has no labels "
            "to predict: use its app's own scoring",
            code="not_a_text_model",
        )
    pairs = list(text_pairs) if text_pairs is not None else [None] * len(texts)
    items = list(zip(texts, pairs, strict=True))
    futures = _batcher(f"predict:{task}", functools.partial(_predict_batch, task)).submit_many(
        items
    )
    return [future.result() for future in futures]


def production_models_status(*, load_missing: bool = False) -> dict[str, dict[str, Any]]:
    """Which web-declared production models this process has loaded; optionally load the rest.

    Only tasks some app declared for its web processes count: a model used only by batch
    scoring (or by nobody here) is never loaded by a web process.
    """
    held = web_tasks()
    status: dict[str, dict[str, Any]] = {}
    for version in selectors.production_versions():
        if version.task not in held:
            continue
        key = f"{version.id}:v{version.version}"
        loaded = predictor_cache.current_version(version.task) == key
        status[version.task] = {"version": version.version, "loaded": loaded}
        if not loaded and load_missing:
            _load_in_background(version.task)
    return status


@dataclass(frozen=True)
class AppServingStatus:
    """One app's part of a web process's readiness."""

    app: str
    ready: bool
    warm_up: dict[str, Any]  # state, attempts, error, seconds, result
    models: dict[str, dict[str, Any]]  # web task -> {"version": n or None, "loaded": bool}
    worker_tasks: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "ready": self.ready,
            "warm_up": self.warm_up,
            "models": self.models,
            "worker_tasks": list(self.worker_tasks),
        }


def app_serving_statuses(
    models: dict[str, dict[str, Any]] | None = None,
) -> list[AppServingStatus]:
    """Each registered app's warm-up and web models (`models`: a production_models_status)."""
    models = production_models_status() if models is None else models
    statuses = []
    for spec in app_serving_list():
        warm_up = warm_up_status(spec.app)
        held = {
            task: models.get(task, {"version": None, "loaded": False}) for task in spec.web_tasks
        }
        # A task with no production version yet has nothing to load; it does not block.
        loaded = all(info["loaded"] for info in held.values() if info["version"] is not None)
        statuses.append(
            AppServingStatus(
                app=spec.app,
                ready=loaded and warm_up["state"] in (OFF, DONE),
                warm_up=warm_up,
                models=held,
                worker_tasks=spec.worker_tasks,
            )
        )
    return statuses


def _app_warm_up(spec: AppServingSpec) -> Any:
    """Load an app's web models (those already promoted), then run its own warm-up."""
    from django.db import connection

    try:
        for task in spec.web_tasks:
            try:
                predictor_cache.get(task)
            except ModelNotAvailable:
                logger.info("warm-up %s: no production model for %s yet", spec.app, task)
        return spec.warm_up() if spec.warm_up is not None else None
    finally:
        connection.close()  # this thread's connection; the next attempt opens a fresh one


def web_warm_ups_start() -> list[WarmUp]:
    """Start every registered app's web warm-up in this process (one background thread each)."""
    return [
        start_warm_up(functools.partial(_app_warm_up, spec), name=spec.app)
        for spec in app_serving_list()
    ]


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

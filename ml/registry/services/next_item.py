"""Training a next-item version: the app's interactions and item texts -> an ml.recsys model.

Called by `model_version_train` for `next_item` tasks; the claim, progress, cancel and
failure handling around it are the registry's, shared with the text models.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings

from ml.embeddings import encoder_space
from ml.recsys.artifact import save_next_item_model
from ml.recsys.config import NextItemConfig
from ml.recsys.data import InteractionData
from ml.recsys.training import train_next_item
from ml.registry.catalog import training_task_get
from ml.registry.models import ModelVersion
from ml.registry.services.queueing import InvalidTrainingRequest
from ml.storage import atomic_write

ENCODE_CHUNK = 512  # item texts per encoder call (one progress update each)
ENCODE_SHARE = 0.2  # of the progress bar


@dataclass(frozen=True)
class TrainedNextItem:
    artifact_dir: Path
    metrics: dict[str, Any]
    device: str
    train_seconds: float


def _snapshot(version: ModelVersion, target: Path) -> InteractionData:
    """Build the interactions from the app's rows and freeze them in the version's folder."""
    spec = training_task_get(version.task)
    if spec is None or spec.build_dataset is None:
        raise InvalidTrainingRequest(f"task {version.task!r} has no dataset builder")
    data = spec.build_dataset()
    if not isinstance(data, InteractionData):
        raise InvalidTrainingRequest(
            f"{version.task}'s dataset builder returned {type(data).__name__}; a next_item task "
            "must return ml.recsys.InteractionData"
        )
    enough = sum(len(seq) >= 3 for seq in data.sequences)
    if data.n_items < 2 or enough < 1:
        raise InvalidTrainingRequest(
            f"{version.task} has {data.n_items} items and {enough} users with 3 or more items; "
            "need at least 2 items and 1 such user (their last two items are held out)"
        )
    with atomic_write(target, "wb") as handle:
        data.save(handle)
    return data


def _finite(value: Any) -> Any:
    """NaN (a slice with no users) as null: JSON columns refuse NaN."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def _item_vectors(
    texts: tuple[str, ...], model_dir: Path, progress: Callable[[float, str], None]
) -> np.ndarray:
    from ml.registry.serving import get_encoder

    encoder = get_encoder(model_dir)
    chunks = []
    for start in range(0, len(texts), ENCODE_CHUNK):
        chunks.append(encoder.encode(list(texts[start : start + ENCODE_CHUNK])))
        done = min(start + ENCODE_CHUNK, len(texts))
        progress(ENCODE_SHARE * done / len(texts), f"embedding item texts {done}/{len(texts)}")
    return np.concatenate(chunks)


def next_item_version_train(
    *,
    version: ModelVersion,
    folder: Path,
    model_dir: Path,
    progress: Callable[[float, str], None],
    should_stop: Callable[[], bool],
) -> TrainedNextItem:
    data = _snapshot(version, folder / "dataset.npz")
    ModelVersion.objects.filter(id=version.id).update(
        dataset_fingerprint=data.fingerprint(), dataset_size=data.n_interactions
    )
    config = NextItemConfig.from_dict({"device": settings.ML_DEVICE, **version.hyperparameters})
    base_model = Path(version.base_model)
    vectors = _item_vectors(data.item_texts, base_model, progress)

    def train_progress(fraction: float, message: str) -> None:
        progress(ENCODE_SHARE + (1 - ENCODE_SHARE) * fraction, message)

    result = train_next_item(
        config, data, vectors, progress=train_progress, should_stop=should_stop
    )
    result.metrics.update(_finite(result.metrics))
    save_next_item_model(
        result,
        config,
        model_dir,
        encoder={"model_dir": str(base_model), "space": encoder_space(base_model)},
    )
    return TrainedNextItem(
        artifact_dir=model_dir,
        metrics=_finite(result.metrics),
        device=result.device,
        train_seconds=result.train_seconds,
    )

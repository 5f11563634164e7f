"""Fine-tuning of text classifiers and text-pair scorers, and loading them for serving.

Config and data helpers are torch-free and imported eagerly (the web process validates
hyper-parameters and uploads with them); the trainer and model pull in torch/transformers, so
they load lazily on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ml.training.config import LoraSettings, TrainConfig
from ml.training.data import Example, dataset_fingerprint, read_examples_csv, write_examples_csv
from ml.training.kinds import REGISTRY_KINDS, TRAINABLE_KINDS, TaskKind

if TYPE_CHECKING:
    from ml.training.ensemble import TextModelEnsemble
    from ml.training.metrics import compute_metrics
    from ml.training.model import EncoderClassifier, TextModel, load_text_model
    from ml.training.trainer import TrainingCancelled, TrainResult, train_text_model

_LAZY = {
    "compute_metrics": "ml.training.metrics",
    "EncoderClassifier": "ml.training.model",
    "TextModel": "ml.training.model",
    "TextModelEnsemble": "ml.training.ensemble",
    "load_text_model": "ml.training.model",
    "TrainResult": "ml.training.trainer",
    "TrainingCancelled": "ml.training.trainer",
    "train_text_model": "ml.training.trainer",
}

__all__ = [
    "EncoderClassifier",
    "Example",
    "LoraSettings",
    "REGISTRY_KINDS",
    "TRAINABLE_KINDS",
    "TaskKind",
    "TextModel",
    "TextModelEnsemble",
    "TrainConfig",
    "TrainResult",
    "TrainingCancelled",
    "compute_metrics",
    "dataset_fingerprint",
    "load_text_model",
    "read_examples_csv",
    "train_text_model",
    "write_examples_csv",
]


def __getattr__(name: str) -> Any:
    """PEP 562 lazy re-export of the torch-heavy names."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ml.training' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value

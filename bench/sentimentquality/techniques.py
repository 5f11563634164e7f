"""The techniques compared, each a row of the result: TrainConfig overrides on a shared base.

`plain` is the issue's reference fine-tune (4 epochs, lr 5e-5, batch 16, no schedule, the last
epoch saved). Each further row adds one thing to the row it names as `builds_on`, so a row's gain
over that one is what the technique added. `ensemble` and `distilled` reuse the trained model of
the row they build on as their seed-`--seed` member / teacher member.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bench.common import RESULTS_DIR

DEFAULT_OUT = RESULTS_DIR / "sentiment_quality.json"

# Sentiment labels in a fixed order (the head's outputs; also the teacher's columns).
LABEL_ORDER = ["negative", "neutral", "positive"]

PLAIN: dict[str, Any] = {
    "epochs": 4,
    "batch_size": 16,
    "learning_rate": 5e-5,
    "max_seq_length": 128,
    "lr_schedule": "constant",
    "warmup_fraction": 0.0,
    "early_stopping_patience": 0,
    "restore_best_epoch": False,
    "class_weighting": False,
    "label_smoothing": 0.0,
    "labels": LABEL_ORDER,
}

WARMUP_EARLY_STOP = {
    **PLAIN,
    "lr_schedule": "linear",
    "warmup_fraction": 0.1,
    "early_stopping_patience": 2,
    "restore_best_epoch": True,
}

TARGETS = {"accuracy": 0.86, "macro_f1": 0.84, "allagree_accuracy": 0.97, "headlines_per_s": 200}


@dataclass(frozen=True)
class Technique:
    name: str
    description: str
    builds_on: str | None
    kind: str = "fine_tune"  # fine_tune | frozen_logreg | ensemble | distilled
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    seeds: int = 1  # ensemble members (seed, seed + 1, ...)


TECHNIQUES: dict[str, Technique] = {
    t.name: t
    for t in (
        Technique(
            "frozen_logreg",
            "frozen base MiniLM embeddings + logistic regression (C on validation)",
            None,
            kind="frozen_logreg",
        ),
        Technique(
            "plain",
            "fine-tune: 4 epochs, lr 5e-5, batch 16, constant lr, last epoch",
            None,
            hyperparameters=PLAIN,
        ),
        Technique(
            "warmup_early_stop",
            "+ 10 % warm-up, linear decay; best validation macro-F1 epoch, patience 2",
            "plain",
            hyperparameters=WARMUP_EARLY_STOP,
        ),
        Technique(
            "label_smoothing",
            "+ label smoothing 0.1",
            "warmup_early_stop",
            hyperparameters={**WARMUP_EARLY_STOP, "label_smoothing": 0.1},
        ),
        Technique(
            "class_weights",
            "+ inverse-frequency class weights",
            "warmup_early_stop",
            hyperparameters={**WARMUP_EARLY_STOP, "class_weighting": True},
        ),
        Technique(
            "ensemble",
            "2-seed ensemble of label_smoothing (mean probabilities; 2 forward passes)",
            "label_smoothing",
            kind="ensemble",
            hyperparameters={**WARMUP_EARLY_STOP, "label_smoothing": 0.1},
            seeds=2,
        ),
        Technique(
            "distilled",
            "one label_smoothing student distilled from the 2-seed ensemble (w 0.5, T 2)",
            "ensemble",
            kind="distilled",
            hyperparameters={
                **WARMUP_EARLY_STOP,
                "label_smoothing": 0.1,
                "distillation_weight": 0.5,
                "distillation_temperature": 2.0,
            },
        ),
    )
}

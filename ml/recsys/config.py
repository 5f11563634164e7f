"""Hyper-parameters of the next-item model, validated up front (no torch import here).

The web process validates a training request with `NextItemConfig.from_dict` before anything
is queued, as it does for the text models' `TrainConfig`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

DEVICES = ("auto", "cpu", "cuda")


@dataclass(frozen=True)
class NextItemConfig:
    """A small causal transformer over item vectors that start from the items' text vectors.

    dim/layers/heads/max_len: the transformer (max_len = most recent items it reads).
    negatives: sampled negatives per batch for the softmax; 0 = full softmax over the catalogue
        (cheap up to tens of thousands of items).
    id_dropout: share of items whose learnt id vector is hidden per batch, so the text path
        alone must rank them: that is what a new item has.
    windows_per_user: train on each user's most recent `windows_per_user` windows of max_len
        transitions (0 = all of them): recent behaviour predicts the next item best, and an
        epoch costs a fraction of the full history's.
    epochs/patience: at most `epochs` passes; stop after `patience` without a better
        validation NDCG@10 (0 = never stop early). The best epoch is kept.
    blend: choose weights for EASE and popularity scores on the validation split and add them
        to the model's score (weights of 0 when they do not help).
    refit: after choosing the epoch count and the blend, train again on all the data (the
        served model then knows everyone's latest items).
    """

    dim: int = 64
    layers: int = 2
    heads: int = 2
    max_len: int = 50
    dropout: float = 0.2
    id_dropout: float = 0.25
    negatives: int = 0
    windows_per_user: int = 0
    epochs: int = 40
    patience: int = 5
    batch_size: int = 128
    learning_rate: float = 1e-3
    weight_decay: float = 0.0
    blend: bool = True
    ease_l2: float = 500.0
    ease_neighbours: int = 200
    refit: bool = True
    seed: int = 0
    device: str = "auto"
    max_train_seconds: float | None = None

    def __post_init__(self) -> None:
        minimums = {
            "dim": 8,
            "layers": 1,
            "heads": 1,
            "max_len": 2,
            "negatives": 0,
            "windows_per_user": 0,
            "epochs": 1,
            "patience": 0,
            "batch_size": 1,
            "ease_neighbours": 1,
            "seed": 0,
        }
        for name, minimum in minimums.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"NextItemConfig.{name} must be an integer, got {value!r}")
            if value < minimum:
                raise ValueError(f"NextItemConfig.{name}={value} must be >= {minimum}")
        if self.dim % self.heads:
            raise ValueError(
                f"NextItemConfig.dim={self.dim} must be divisible by heads={self.heads}"
            )
        for name in ("dropout", "id_dropout"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1:
                raise ValueError(f"NextItemConfig.{name}={value!r} must be a number in [0, 1)")
        for name in ("learning_rate", "ease_l2"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
                raise ValueError(f"NextItemConfig.{name}={value!r} must be a number > 0")
        if not isinstance(self.weight_decay, int | float) or self.weight_decay < 0:
            raise ValueError(f"NextItemConfig.weight_decay={self.weight_decay!r} must be >= 0")
        for name in ("blend", "refit"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"NextItemConfig.{name} must be true or false")
        if self.device not in DEVICES:
            raise ValueError(f"NextItemConfig.device={self.device!r} is not one of {DEVICES}")
        cap = self.max_train_seconds
        if cap is not None and (
            isinstance(cap, bool) or not isinstance(cap, int | float) or cap <= 0
        ):
            raise ValueError(f"max_train_seconds={cap!r} must be > 0 (or null for no cap)")

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> NextItemConfig:
        """Build from stored JSON; unknown keys are an error so typos don't silently vanish."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(
                f"unknown next-item hyper-parameter(s): {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(known))}"
            )
        return cls(**params)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

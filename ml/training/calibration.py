"""Score statistics every benchmark and threshold choice needs: calibration (ECE, reliability
bins, temperature), separation (AUROC) and picking cut-offs on a validation split.

Plain numpy (scikit-learn for AUROC), no torch: the chat and sentiment benchmarks and the
registry's reports share them instead of each keeping a copy.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

Candidate = TypeVar("Candidate")
MIN_PROBABILITY = 1e-6  # floor inside log(): one confident miss must not dominate the NLL


@dataclass(frozen=True)
class ReliabilityBin:
    """One equal-width confidence bin: how sure the model said it was vs how often it was right."""

    lower: float
    upper: float
    count: int
    mean_confidence: float
    accuracy: float


def _confidence_and_correct(
    confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    right = np.asarray(correct, dtype=np.float64).reshape(-1)
    if conf.shape != right.shape:
        raise ValueError(f"{len(conf)} confidences but {len(right)} correct flags")
    if not len(conf):
        raise ValueError("calibration needs at least one prediction")
    return conf, right


def reliability_bins(
    confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray, bins: int = 10
) -> list[ReliabilityBin]:
    """Non-empty bins of [0, 1] split into `bins` equal widths; 1.0 falls in the last bin."""
    if bins < 1:
        raise ValueError(f"bins={bins} must be >= 1")
    conf, right = _confidence_and_correct(confidence, correct)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    out = []
    for b in range(bins):
        mask = which == b
        if mask.any():
            out.append(
                ReliabilityBin(
                    lower=float(edges[b]),
                    upper=float(edges[b + 1]),
                    count=int(mask.sum()),
                    mean_confidence=float(conf[mask].mean()),
                    accuracy=float(right[mask].mean()),
                )
            )
    return out


def expected_calibration_error(
    confidence: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray, bins: int = 10
) -> float:
    """Count-weighted |accuracy - mean confidence| over the reliability bins (0 = calibrated)."""
    total = len(np.asarray(confidence).reshape(-1))
    return float(
        sum(
            b.count / total * abs(b.accuracy - b.mean_confidence)
            for b in reliability_bins(confidence, correct, bins)
        )
    )


def mean_nll(probabilities: np.ndarray, truth: Sequence[int] | np.ndarray) -> float:
    """Mean -log P(true class), P floored at MIN_PROBABILITY; probabilities (N, C), truth (N,)."""
    probs = np.asarray(probabilities, dtype=np.float64)
    index = np.asarray(truth, dtype=np.int64)
    if probs.ndim != 2 or len(probs) != len(index) or not len(index):
        raise ValueError(f"probabilities {probs.shape} do not match {len(index)} true classes")
    picked = probs[np.arange(len(index)), index]
    return float(-np.log(np.maximum(picked, MIN_PROBABILITY)).mean())


def temperature_fit(
    logits: np.ndarray, truth: Sequence[int] | np.ndarray, grid: Sequence[float] | np.ndarray
) -> float:
    """The temperature T in `grid` whose softmax(logits / T) has the lowest NLL (first on ties).

    Temperature scaling (Guo et al. 2017): one scalar fitted on validation, order unchanged.
    """
    scores = np.asarray(logits, dtype=np.float64)
    best: tuple[float, float] | None = None
    for temperature in grid:
        if temperature <= 0:
            raise ValueError(f"temperature {temperature} must be > 0")
        scaled = scores / temperature
        scaled -= scaled.max(axis=1, keepdims=True)
        probs = np.exp(scaled)
        probs /= probs.sum(axis=1, keepdims=True)
        loss = mean_nll(probs, truth)
        if best is None or loss < best[0]:
            best = (loss, float(temperature))
    if best is None:
        raise ValueError("temperature grid is empty")
    return best[1]


def auroc(positive: Sequence[float] | np.ndarray, negative: Sequence[float] | np.ndarray) -> float:
    """P(a positive's score > a negative's), ties counted half; NaN when a side is empty."""
    pos = np.asarray(positive, dtype=np.float64).reshape(-1)
    neg = np.asarray(negative, dtype=np.float64).reshape(-1)
    if not len(pos) or not len(neg):
        return float("nan")
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.ones(len(pos)), np.zeros(len(neg))]
    return float(roc_auc_score(y, np.r_[pos, neg]))


def threshold_candidates(*scores: np.ndarray, decimals: int = 4) -> np.ndarray:
    """Every observed score (rounded) plus 0 and 1, ascending: the cut-offs worth trying."""
    pooled = np.concatenate([np.asarray(s, dtype=np.float64).reshape(-1) for s in scores])
    return np.unique(np.round(np.concatenate([pooled, [0.0, 1.0]]), decimals))


def choose_max_min_margin(
    candidates: Iterable[Candidate], margins: Callable[[Candidate], Sequence[float]]
) -> tuple[Candidate, float]:
    """The candidate whose worst margin over its targets is largest (the first one on ties).

    `margins(c)` returns, per target, value - target (e.g. recall - 0.80, accuracy - 0.92): the
    winner is a balanced point, and a negative margin says by how much a target is missed.
    """
    best: tuple[float, Candidate] | None = None
    for candidate in candidates:
        margin = float(min(margins(candidate)))
        if best is None or margin > best[0]:
            best = (margin, candidate)
    if best is None:
        raise ValueError("no candidate thresholds to choose from")
    return best[1], best[0]


def highest_keeping(
    candidates: Iterable[float], keeps: Callable[[float], bool], start: float
) -> float:
    """Walk ascending candidates from `start` upwards; the last one before `keeps` fails."""
    chosen = start
    for candidate in sorted(c for c in candidates if c >= start):
        if not keeps(float(candidate)):
            break
        chosen = float(candidate)
    return chosen


@dataclass(frozen=True)
class TradeoffPoint:
    threshold: float
    rates: dict[str, float]

    def as_dict(self) -> dict[str, float]:
        return {"threshold": self.threshold, **self.rates}


def tradeoff_curve(
    scores: Sequence[float] | np.ndarray,
    rates: Callable[[float], dict[str, float]],
    points: int = 21,
) -> list[TradeoffPoint]:
    """`rates(t)` at `points` thresholds spread over the quantiles of `scores` (0% to 100%)."""
    if points < 2:
        raise ValueError(f"points={points} must be >= 2")
    quantiles = np.quantile(np.asarray(scores, dtype=np.float64), np.linspace(0.0, 1.0, points))
    return [TradeoffPoint(round(float(t), 4), rates(float(t))) for t in quantiles]

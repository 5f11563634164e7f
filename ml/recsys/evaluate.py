"""Offline ranking quality: the full catalogue ranked per user, items they already have removed.

Every model is scored through the same `Scorer` protocol and the same metric functions
(`ml.training.metrics`, ties broken pessimistically), so the figures compare like with like.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ml.recsys.data import LeaveLastOut
from ml.training.metrics import ndcg_at_k, recall_at_k


class Scorer(Protocol):
    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        """(B, n_items) scores for these users (indices into the training data) and histories."""
        ...


@dataclass(frozen=True)
class RankingReport:
    """Mean NDCG@k and Recall@k over the evaluated users (NaN when there were none)."""

    k: int
    ndcg: float
    recall: float
    users: int

    def as_dict(self, prefix: str = "") -> dict[str, float | int]:
        return {
            f"{prefix}ndcg_at_{self.k}": self.ndcg,
            f"{prefix}recall_at_{self.k}": self.recall,
            f"{prefix}users": self.users,
        }


def rank_with_seen_removed(scores: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
    """Scores as float64 with each user's own items at -inf (they are never recommended)."""
    ranked = np.array(scores, dtype=np.float64, copy=True)
    for row, history in enumerate(histories):
        ranked[row, history] = -np.inf
    return ranked


def ranking_evaluate(
    scorer: Scorer,
    split: LeaveLastOut,
    *,
    k: int = 10,
    mask: np.ndarray | None = None,
    batch_size: int = 256,
    progress: Callable[[int, int], None] | None = None,
) -> RankingReport:
    """NDCG@k and Recall@k of `scorer` on the held-out targets (only rows in `mask` if given)."""
    rows = np.arange(len(split.users)) if mask is None else np.flatnonzero(mask)
    ndcgs: list[float] = []
    recalls: list[float] = []
    n_items = split.train.n_items
    for start in range(0, len(rows), batch_size):
        chunk = rows[start : start + batch_size]
        users = split.users[chunk]
        histories = [split.train.sequences[u] for u in users]
        scores = np.asarray(scorer.scores(users, histories))
        if scores.shape != (len(chunk), n_items):
            raise ValueError(f"scorer returned {scores.shape}; expected {(len(chunk), n_items)}")
        ranked = rank_with_seen_removed(scores, histories)
        for row, target in enumerate(split.targets[chunk]):
            relevance = np.zeros(n_items)
            relevance[target] = 1.0
            ndcgs.append(ndcg_at_k(ranked[row], relevance, k))
            recalls.append(recall_at_k(ranked[row], relevance, k))
        if progress is not None:
            progress(min(start + batch_size, len(rows)), len(rows))
    if not ndcgs:
        return RankingReport(k=k, ndcg=float("nan"), recall=float("nan"), users=0)
    return RankingReport(
        k=k, ndcg=float(np.nanmean(ndcgs)), recall=float(np.nanmean(recalls)), users=len(ndcgs)
    )

"""Adding EASE and popularity scores to the network's, with weights chosen on validation.

Each component is standardised per user over the catalogue (z-scores), so a weight means the
same for every user; weights of 0 switch a component off. EASE is kept sparse (each item's
strongest `ease_neighbours` weights): the served artifact stays small and scoring a few
candidates reads a few rows.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ml.recsys.baselines import EASE, Popularity, _top_per_row
from ml.recsys.config import NextItemConfig
from ml.recsys.data import InteractionData, LeaveLastOut, histories_matrix
from ml.recsys.evaluate import Scorer, ranking_evaluate

# A dense EASE solve is O(items^3): above this many items the blend leaves it out.
EASE_MAX_ITEMS = 20_000
EASE_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)
POPULARITY_WEIGHTS = (0.0, 0.1, 0.25, 0.5)


@dataclass(frozen=True)
class Blend:
    ease: float = 0.0
    popularity: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {"ease": self.ease, "popularity": self.popularity}


def standardised(scores: np.ndarray) -> np.ndarray:
    """Per-row z-scores (rows with no spread become zeros)."""
    scores = np.asarray(scores, dtype=np.float32)
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.where(std > 0, std, 1.0)


def sparse_ease(train: InteractionData, config: NextItemConfig) -> sp.csr_matrix | None:
    """EASE item-item weights pruned to each item's strongest neighbours (None: too many items)."""
    if train.n_items > EASE_MAX_ITEMS:
        return None
    dense = EASE.fit(train, l2=config.ease_l2).weights
    return _top_per_row(sp.csr_matrix(dense), config.ease_neighbours)


@dataclass
class BlendedScorer:
    """network z-score + w_ease * EASE z-score + w_pop * popularity z-score."""

    network: Scorer
    blend: Blend
    ease: sp.csr_matrix | None
    log_popularity: np.ndarray

    @classmethod
    def fit(
        cls, network: Scorer, blend: Blend, train: InteractionData, config: NextItemConfig
    ) -> BlendedScorer:
        ease = sparse_ease(train, config) if blend.ease else None
        return cls(network, blend, ease, Popularity.fit(train).log_counts)

    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        total = standardised(self.network.scores(users, histories))
        if self.blend.ease and self.ease is not None:
            ease = (histories_matrix(histories, self.ease.shape[0]) @ self.ease).toarray()
            total += self.blend.ease * standardised(ease)
        if self.blend.popularity:
            total += self.blend.popularity * standardised(self.log_popularity[None, :])
        return total


class _Fixed:
    """A scorer over precomputed rows (the grid search scores every user once)."""

    def __init__(self, rows: dict[int, np.ndarray]) -> None:
        self.rows = rows

    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        return np.stack([self.rows[int(u)] for u in users])


def blend_choose(network: Scorer, validation: LeaveLastOut, config: NextItemConfig) -> Blend:
    """The weights with the best validation NDCG@10 (ties: the simpler blend, listed first)."""
    users = validation.users
    histories = validation.histories()
    net = standardised(network.scores(users, histories))
    ease_matrix = sparse_ease(validation.train, config)
    ease = (
        standardised(
            (histories_matrix(histories, validation.train.n_items) @ ease_matrix).toarray()
        )
        if ease_matrix is not None
        else None
    )
    popularity = standardised(Popularity.fit(validation.train).log_counts[None, :])
    best, best_ndcg = Blend(), -1.0
    ease_weights = EASE_WEIGHTS if ease is not None else (0.0,)
    for w_ease, w_pop in itertools.product(ease_weights, POPULARITY_WEIGHTS):
        total = net.copy()
        if w_ease:
            total += w_ease * ease
        if w_pop:
            total += w_pop * popularity
        scorer = _Fixed({int(u): total[row] for row, u in enumerate(users)})
        ndcg = ranking_evaluate(scorer, validation).ndcg
        if ndcg > best_ndcg + 1e-9:
            best, best_ndcg = Blend(ease=w_ease, popularity=w_pop), ndcg
    return best

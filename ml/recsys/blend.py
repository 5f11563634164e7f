"""Adding EASE and popularity scores to the network's, and placing items with no training events
by their text, with weights chosen on validation.

Each component is standardised per user over the catalogue (z-scores), so a weight means the
same for every user; weights of 0 switch a component off. EASE is kept sparse (each item's
strongest `ease_neighbours` weights): the served artifact stays small and scoring a few
candidates reads a few rows.

Items with no training events (new items): EASE and popularity are zero for them, and the
network ranks them from its text projection, which the softmax over warm targets has learnt to
push down; so they never reach a top 10 (the cold-start slice scored 0). Their text similarity
to the user's recent items (the `TextSimilarity` baseline, as z-scores) places them instead:
the best match goes just below the user's `cold_after` best-scored warm items, the others
`cold_text` z-score units of text similarity below it per unit, on the blended scale. A rank,
not an additive weight: z-scores of the blended scores have heavy, user-specific tails, so no
fixed offset lands a new item at the same place for everyone. Validation chooses `cold_after`
(None: no placement) and `cold_text`, after choosing the EASE and popularity weights.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ml.recsys.baselines import EASE, Popularity, TextSimilarity, _top_per_row
from ml.recsys.config import NextItemConfig
from ml.recsys.data import InteractionData, LeaveLastOut, histories_matrix
from ml.recsys.evaluate import Scorer

# A dense EASE solve is O(items^3): above this many items the blend leaves it out.
EASE_MAX_ITEMS = 20_000
EASE_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)
POPULARITY_WEIGHTS = (0.0, 0.1, 0.25, 0.5)
# Where the best text match among items without events goes: after this many warm items (the
# top 10 is what is measured). Ties go to the first listed: 2 is the prior when validation
# cannot tell (no validation target without events), so a new item still shows up near the
# top for a user whose recent items it resembles; None (no placement) only when it measures
# better than every placement.
COLD_AFTER = (2, 9, 8, 7, 6, 5, 4, 3, 1, 0, None)
COLD_TEXT_WEIGHTS = (1.0, 4.0, 16.0)


@dataclass(frozen=True)
class Blend:
    ease: float = 0.0
    popularity: float = 0.0
    cold_after: int | None = None
    cold_text: float = 1.0

    def as_dict(self) -> dict[str, float | int | None]:
        return {
            "ease": self.ease,
            "popularity": self.popularity,
            "cold_after": self.cold_after,
            "cold_text": self.cold_text,
        }


def standardised(scores: np.ndarray) -> np.ndarray:
    """Per-row z-scores (rows with no spread become zeros)."""
    scores = np.asarray(scores, dtype=np.float32)
    mean = scores.mean(axis=1, keepdims=True)
    std = scores.std(axis=1, keepdims=True)
    return (scores - mean) / np.where(std > 0, std, 1.0)


def place_cold(
    total: np.ndarray,
    text_z: np.ndarray,
    cold: np.ndarray,
    seen: np.ndarray,
    blend: Blend,
    has_history: np.ndarray | None = None,
) -> np.ndarray:
    """`total` (B, n) with the `cold` (n,) items (no training events) placed by their text.

    Per user: the best unseen cold match by `text_z` gets the score halfway between the
    `cold_after`-th and the next warm unseen item's score (above all of them for 0); other cold
    items `cold_text` * their text z-score gap below that. An item keeps its own score when
    higher. Users without history (`has_history` False) are left alone: no text to match.
    """
    if blend.cold_after is None or not cold.any():
        return total
    warm = np.where(seen | cold[None, :], -np.inf, total)
    n_warm = int((~cold).sum())
    k = min(blend.cold_after, max(n_warm - 1, 0))
    top = -np.partition(-warm, k, axis=1)[:, : k + 1] if n_warm else np.zeros((len(total), 1))
    top = -np.sort(-top, axis=1)
    if blend.cold_after == 0:
        anchor = top[:, 0] + 1.0
    else:
        upper, lower = top[:, k - 1], top[:, k]
        anchor = np.where(np.isfinite(lower), (upper + lower) / 2, upper - 1.0)
    cold_text = np.where(cold[None, :] & ~seen, text_z, -np.inf)
    best = cold_text.max(axis=1)
    usable = np.isfinite(anchor) & np.isfinite(best)
    if has_history is not None:
        usable &= has_history
    gap = np.where(usable[:, None], text_z - np.where(usable, best, 0.0)[:, None], 0.0)
    slot = anchor[:, None] + blend.cold_text * gap
    placed = cold[None, :] & usable[:, None]
    return np.where(placed, np.maximum(total, slot), total)


def sparse_ease(train: InteractionData, config: NextItemConfig) -> sp.csr_matrix | None:
    """EASE item-item weights pruned to each item's strongest neighbours (None: too many items)."""
    if train.n_items > EASE_MAX_ITEMS:
        return None
    dense = EASE.fit(train, l2=config.ease_l2).weights
    return _top_per_row(sp.csr_matrix(dense), config.ease_neighbours)


@dataclass
class BlendedScorer:
    """network z + w_ease * EASE z + w_pop * popularity z, items without events placed by text."""

    network: Scorer
    blend: Blend
    ease: sp.csr_matrix | None
    log_popularity: np.ndarray
    text: TextSimilarity | None
    cold: np.ndarray  # (n_items,) True: no training events

    @classmethod
    def fit(
        cls,
        network: Scorer,
        blend: Blend,
        train: InteractionData,
        config: NextItemConfig,
        text_vectors: np.ndarray | None = None,
    ) -> BlendedScorer:
        ease = sparse_ease(train, config) if blend.ease else None
        text = TextSimilarity(text_vectors) if text_vectors is not None else None
        cold = train.item_counts() == 0
        return cls(network, blend, ease, Popularity.fit(train).log_counts, text, cold)

    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        total = standardised(self.network.scores(users, histories))
        if self.blend.ease and self.ease is not None:
            ease = (histories_matrix(histories, self.ease.shape[0]) @ self.ease).toarray()
            total += self.blend.ease * standardised(ease)
        if self.blend.popularity:
            total += self.blend.popularity * standardised(self.log_popularity[None, :])
        if self.blend.cold_after is not None and self.text is not None:
            text_z = standardised(self.text.scores(users, histories))
            seen = histories_matrix(histories, len(self.cold)).toarray() > 0
            has_history = np.array([len(h) > 0 for h in histories])
            total = place_cold(total, text_z, self.cold, seen, self.blend, has_history)
        return total


def target_ranks(scores: np.ndarray, seen: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """0-based rank of each row's target among the items the user has not seen, ties counted
    against the target (as `ml.training.metrics` breaks them)."""
    target_scores = scores[np.arange(len(targets)), targets]
    ahead = (scores >= target_scores[:, None]) & ~seen
    return ahead.sum(axis=1) - 1


def ndcg_from_ranks(ranks: np.ndarray, k: int = 10) -> float:
    """Mean NDCG@k with one relevant item per user (what `ranking_evaluate` computes)."""
    gains = np.where(ranks < k, 1.0 / np.log2(ranks + 2.0), 0.0)
    return float(gains.mean()) if len(gains) else float("nan")


def blend_choose(
    network: Scorer,
    validation: LeaveLastOut,
    config: NextItemConfig,
    text_vectors: np.ndarray | None = None,
) -> Blend:
    """The weights with the best validation NDCG@10 (ties: the blend listed first): EASE and
    popularity first, then, given them, the placement of items without events (only with
    `text_vectors`)."""
    users = validation.users
    histories = validation.histories()
    n_items = validation.train.n_items
    net = standardised(network.scores(users, histories))
    ease_matrix = sparse_ease(validation.train, config)
    ease = (
        standardised((histories_matrix(histories, n_items) @ ease_matrix).toarray())
        if ease_matrix is not None
        else None
    )
    popularity = standardised(Popularity.fit(validation.train).log_counts[None, :])
    seen = histories_matrix(histories, n_items).toarray() > 0
    targets = validation.targets
    best, best_total, best_ndcg = Blend(), net, -1.0
    ease_weights = EASE_WEIGHTS if ease is not None else (0.0,)
    for w_ease, w_pop in itertools.product(ease_weights, POPULARITY_WEIGHTS):
        total = net.copy()
        if w_ease:
            total += w_ease * ease
        if w_pop:
            total += w_pop * popularity
        ndcg = ndcg_from_ranks(target_ranks(total, seen, targets))
        if ndcg > best_ndcg + 1e-9:
            best, best_total, best_ndcg = Blend(ease=w_ease, popularity=w_pop), total, ndcg
    if text_vectors is None:
        return best
    text_z = standardised(TextSimilarity(text_vectors).scores(users, histories))
    cold = validation.train.item_counts() == 0
    warm_best, best_ndcg = best, -1.0
    for after, weight in itertools.product(COLD_AFTER, COLD_TEXT_WEIGHTS):
        if after is None and weight != COLD_TEXT_WEIGHTS[0]:
            continue
        blend = Blend(warm_best.ease, warm_best.popularity, after, weight)
        placed = place_cold(best_total, text_z, cold, seen, blend)
        ndcg = ndcg_from_ranks(target_ranks(placed, seen, targets))
        if ndcg > best_ndcg + 1e-9:
            best, best_ndcg = blend, ndcg
    return best

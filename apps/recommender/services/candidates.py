"""Candidate sources, merged and de-duplicated before ranking.

- `similar`: text neighbours (item index) of the user's recent items or the context item;
- `cooccurrence`: items other users touched along with those (precomputed per client);
- `popular`: the client's most interacted-with items in a window;
- `new`: the newest items, only when a shop has no events to make the others from.
Every source is filtered the same way: this client's recommendable items, the category,
minus the excluded ids (seen or purchased, the seeds themselves).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from apps.recommender.selectors import PopularItem, RecommendableIds
from apps.recommender.services.cooccurrence import cooccurrence_neighbours
from apps.recommender.services.item_index import item_neighbours, item_vectors, text_vector

# How much a source's own score counts in the blend, relative to the others: co-occurrence and
# the context item are direct evidence, text similarity to history a little less, popularity
# is the fallback everyone gets.
SOURCE_PRIOR = {"cooccurrence": 1.0, "context": 1.0, "similar": 0.9, "popular": 0.3, "new": 0.2}
TEXT_SEEDS = 5  # recent items searched in the index (one batched search)
# Each older seed's finds count this much less than the next newer one's: what the user looked
# at a minute ago says more about the next click than what they looked at last week.
SEED_DECAY = 0.85


def _relative(scores: Sequence[float], seed_rank: int) -> list[float]:
    """Scores of one seed's finds as a share of its best find, discounted by the seed's age."""
    best = max(scores, default=0.0)
    if best <= 0:
        return [0.0 for _ in scores]
    return [max(0.0, score / best) * SEED_DECAY**seed_rank for score in scores]


@dataclass(frozen=True)
class Seed:
    """An item candidates are found from: a recent item of the user, or the context item."""

    item_id: int
    title: str
    event_type: str | None  # what the user did with it; None for a context item
    text: str = ""  # for a context item not yet in the index: encoded on the fly


@dataclass(frozen=True)
class Candidate:
    item_id: int
    source: str
    source_score: float  # in [0, 1] within its source
    seed: Seed | None = None  # the item that led here (None for popular / new)

    @property
    def strength(self) -> float:
        return SOURCE_PRIOR[self.source] * self.source_score


@dataclass(frozen=True)
class CandidateFilter:
    recommendable: RecommendableIds
    category: str | None
    exclude_ids: frozenset[int]

    def keep(self, item_ids: Sequence[int]) -> list[int]:
        if not item_ids:
            return []
        ids = np.asarray(item_ids, dtype=np.int64)
        mask = self.recommendable.mask(ids, category=self.category)
        return [
            int(i) for i, ok in zip(ids, mask, strict=True) if ok and int(i) not in self.exclude_ids
        ]


def merge_candidates(*groups: list[Candidate]) -> dict[int, Candidate]:
    """One candidate per item: the source with the strongest evidence wins."""
    merged: dict[int, Candidate] = {}
    for group in groups:
        for candidate in group:
            current = merged.get(candidate.item_id)
            if current is None or candidate.strength > current.strength:
                merged[candidate.item_id] = candidate
    return merged


def text_candidates(
    *, seeds: Sequence[Seed], per_seed: int, flt: CandidateFilter, context: bool = False
) -> list[Candidate]:
    """Text neighbours of the seeds, one batched index search."""
    seeds = list(seeds)[:TEXT_SEEDS]
    vectors = item_vectors(item_ids=[seed.item_id for seed in seeds])
    queries, query_seeds = [], []
    for seed in seeds:
        vector = vectors.get(seed.item_id)
        if vector is None and seed.text:
            vector = text_vector(seed.text)  # not synced yet: its text still says what it is
        if vector is not None:
            queries.append(vector)
            query_seeds.append(seed)
    if not queries:
        return []
    rows = item_neighbours(
        queries=np.stack(queries),
        k=per_seed,
        recommendable=flt.recommendable,
        category=flt.category,
        exclude_ids=flt.exclude_ids,
    )
    source = "context" if context else "similar"
    found: list[Candidate] = []
    for rank, row in enumerate(rows):
        scores = _relative([hit.score for hit in row], rank)
        found += [
            Candidate(hit.item_id, source, score, query_seeds[hit.query_row])
            for hit, score in zip(row, scores, strict=True)
        ]
    return found


def cooccurrence_candidates(
    *, client_id: int, seeds: Sequence[Seed], per_seed: int, flt: CandidateFilter, now: datetime
) -> list[Candidate]:
    table = cooccurrence_neighbours(
        client_id=client_id, item_ids=[seed.item_id for seed in seeds], now=now
    )
    found: list[Candidate] = []
    for rank, seed in enumerate(seeds):
        neighbours = table.get(seed.item_id) or []
        scores = dict(
            zip(
                [i for i, _ in neighbours], _relative([s for _, s in neighbours], rank), strict=True
            )
        )
        kept = flt.keep([item for item, _ in neighbours])[:per_seed]
        found += [Candidate(item, "cooccurrence", scores[item], seed) for item in kept]
    return found


def popular_candidates(
    *, popular: Sequence[PopularItem], limit: int, flt: CandidateFilter
) -> list[Candidate]:
    if not popular:
        return []
    top = max(item.score for item in popular) or 1.0
    scores = {item.item_id: item.score / top for item in popular}
    kept = flt.keep([item.item_id for item in popular])[:limit]
    return [Candidate(item, "popular", scores[item]) for item in kept]


def new_candidates(*, limit: int, flt: CandidateFilter) -> list[Candidate]:
    """The newest recommendable items (highest ids: ids grow with creation), no query."""
    newest = flt.recommendable.allowed(category=flt.category)[::-1]
    kept: list[int] = []
    for item in newest.tolist():
        if item not in flt.exclude_ids:
            kept.append(item)
            if len(kept) == limit:
                break
    return [Candidate(item, "new", 1.0 - rank / (limit + 1)) for rank, item in enumerate(kept)]

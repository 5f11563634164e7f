"""Ranking: the next-item model's score blended with popularity, recency and the source.

Without a promoted `recommender.next_item` version (or for a variant that asks for no model)
the blend is the simple features alone. Every result says in a few words why it is there.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from apps.recommender.next_item import next_item_scores
from apps.recommender.selectors import ItemRow
from apps.recommender.services.candidates import Candidate
from ml.registry.models import ModelVersion

log = logging.getLogger(__name__)

RECENCY_HALF_LIFE_DAYS = 30.0  # a month-old item counts half as "new" as today's

VERBS = {
    "view": "viewed",
    "click": "clicked",
    "add_to_cart": "added to your cart",
    "purchase": "bought",
    "rating": "rated",
}


@dataclass(frozen=True)
class ModelScores:
    scores: dict[int, float]
    version_id: int | None
    version_label: str | None  # "recommender.next_item v3"


_labels: dict[int, str] = {}
_labels_lock = threading.Lock()


def model_version_label(version_id: int) -> str:
    label = _labels.get(version_id)
    if label is None:
        row = ModelVersion.objects.filter(id=version_id).values_list("task", "version").first()
        label = f"{row[0]} v{row[1]}" if row else f"model {version_id}"
        with _labels_lock:
            _labels[version_id] = label
    return label


def model_scores(
    *,
    client_id: int,
    recent_item_ids: Sequence[int],
    candidate_ids: Sequence[int],
    version_id: int | None = None,
) -> ModelScores:
    """The next-item model's scores for the candidates; empty when no version is promoted."""
    if not candidate_ids:
        return ModelScores({}, None, None)
    result = next_item_scores(
        client_id=client_id,
        recent_item_ids=list(recent_item_ids),
        candidate_ids=list(candidate_ids),
        version_id=version_id,
    )
    if result is None:
        return ModelScores({}, None, None)
    return ModelScores(
        dict(result.scores), result.version_id, model_version_label(result.version_id)
    )


@dataclass(frozen=True)
class Ranked:
    item: ItemRow
    score: float
    source: str
    reason: str


def reason_for(candidate: Candidate, item: ItemRow) -> str:
    seed = candidate.seed
    if candidate.source == "similar" and seed is not None:
        return f'similar to "{seed.title}" you {VERBS.get(seed.event_type or "", "viewed")}'
    if candidate.source == "context" and seed is not None:
        return f'similar to "{seed.title}"'
    if candidate.source == "cooccurrence" and seed is not None:
        bought = seed.event_type in {"purchase", "add_to_cart"}
        return f'often {"bought" if bought else "viewed"} with "{seed.title}"'
    if candidate.source == "new":
        return f"new in {item.category}" if item.category else "new arrival"
    return f"popular in {item.category}" if item.category else "popular right now"


def _scaled(values: Mapping[int, float]) -> dict[int, float]:
    """Min-max to [0, 1]; all equal -> 1 (no information, no penalty)."""
    if not values:
        return {}
    low, high = min(values.values()), max(values.values())
    if high - low < 1e-12:
        return dict.fromkeys(values, 1.0)
    return {key: (value - low) / (high - low) for key, value in values.items()}


def rank(
    *,
    candidates: Mapping[int, Candidate],
    rows: Mapping[int, ItemRow],
    popularity: Mapping[int, float],
    model: ModelScores,
    now: datetime,
    k: int,
) -> list[Ranked]:
    """Top k of the candidates that have a row (recommendable), by the blended score."""
    weights = settings.RECOMMENDER_BLEND_WEIGHTS
    live = [item for item in candidates if item in rows]
    model_part = _scaled({item: model.scores[item] for item in live if item in model.scores})
    top_popularity = max((math.log1p(popularity.get(item, 0.0)) for item in live), default=0.0)
    ranked: list[Ranked] = []
    for item_id in live:
        candidate, row = candidates[item_id], rows[item_id]
        age_days = max(0.0, (now - row.created_at).total_seconds() / 86400)
        features = {
            "source": candidate.strength,
            "popularity": (
                math.log1p(popularity.get(item_id, 0.0)) / top_popularity if top_popularity else 0.0
            ),
            "recency": 0.5 ** (age_days / RECENCY_HALF_LIFE_DAYS),
        }
        if model_part:
            features["model"] = model_part.get(item_id, 0.0)
        score = sum(weights[name] * value for name, value in features.items())
        ranked.append(Ranked(row, round(score, 6), candidate.source, reason_for(candidate, row)))
    ranked.sort(key=lambda r: (-r.score, r.item.id))
    return ranked[:k]

"""Scores from the promoted ranking model, for the API's ranking blend (r-api's entry point).

The model knows the items it was trained on; items added since are scored from their text:
their vectors come from the shared encoder here (kept in a small per-process cache), so a new
item is rankable from its first request.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from apps.recommender.models import Item
from apps.recommender.training import NEXT_ITEM_TASK
from ml.registry import serving

logger = logging.getLogger(__name__)

TEXT_VECTORS_KEPT = 50_000  # new items' text vectors per process (~1.5 kB each for MiniLM)


@dataclass(frozen=True)
class NextItemScores:
    """Per candidate item id, how likely it is next (comparable within one call only)."""

    scores: dict[int, float]
    version_id: int


class _TextVectorCache:
    """LRU of (item id, text) -> vector: an edited item's new text is a new key."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._vectors: OrderedDict[tuple[int, str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def vectors(self, texts: dict[int, str], model_dir: Path | None) -> dict[int, np.ndarray]:
        space = str(model_dir or "")
        found, missing = {}, {}
        with self._lock:
            for item_id, text in texts.items():
                vector = self._vectors.get((item_id, space, text))
                if vector is None:
                    missing[item_id] = text
                else:
                    self._vectors.move_to_end((item_id, space, text))
                    found[item_id] = vector
        if missing:
            encoded = serving.encode_texts(list(missing.values()), model_dir=model_dir)
            with self._lock:
                for (item_id, text), vector in zip(missing.items(), encoded, strict=True):
                    self._vectors[(item_id, space, text)] = found[item_id] = np.asarray(vector)
                while len(self._vectors) > self.size:
                    self._vectors.popitem(last=False)
        return found


_text_vectors = _TextVectorCache(TEXT_VECTORS_KEPT)


def _model(version_id: int | None) -> tuple[int, Any] | None:
    if version_id is None:
        try:
            key, model = serving.predictor_cache.get_versioned(NEXT_ITEM_TASK)
        except serving.ModelNotAvailable:
            return None
    else:
        loaded = serving.version_model(version_id)
        if loaded is None:
            return None
        key, model = loaded
    if not hasattr(model, "unknown_item_ids"):
        logger.warning("version %s of %s is not a next-item model", key, NEXT_ITEM_TASK)
        return None
    return int(key.split(":", 1)[0]), model


def next_item_scores(
    *,
    client_id: int,
    recent_item_ids: list[int],
    candidate_ids: list[int],
    version_id: int | None = None,
) -> NextItemScores | None:
    """Score `candidate_ids` (Item pks) as the next item after `recent_item_ids` (oldest
    first) with the production `recommender.next_item` version, or `version_id` (an A/B
    variant's pinned version). None when there is no such model (the caller ranks without it).

    Only `client_id`'s items count: others' ids, in either list, are ignored, so a request
    never reads another shop's catalogue. Candidates that cannot be scored are left out.
    """
    loaded = _model(version_id)
    if loaded is None:
        return None
    model_version_id, model = loaded
    wanted = set(recent_item_ids) | set(candidate_ids)
    own = set(Item.objects.filter(client_id=client_id, id__in=wanted).values_list("id", flat=True))
    recent = [i for i in recent_item_ids if i in own]
    candidates = [i for i in candidate_ids if i in own]
    unknown = model.unknown_item_ids([*recent, *candidates])
    new_vectors: dict[int, np.ndarray] = {}
    if unknown:
        texts = {item.id: item.text() for item in Item.objects.filter(id__in=unknown)}
        encoder_dir = model.encoder.get("model_dir")
        new_vectors = _text_vectors.vectors(texts, Path(encoder_dir) if encoder_dir else None)
    scores = model.score(recent, candidates, new_vectors) if candidates else {}
    return NextItemScores(scores=scores, version_id=model_version_id)

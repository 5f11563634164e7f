"""The knowledge base as a named vector index of the core: phrasing id -> its text's vector.

The chat only says what belongs in the index (the phrasings of active entries); the core
(ml/registry/indexes/) syncs, rebuilds, checks the encoder, and hot-reloads web processes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from django.conf import settings

from apps.chat.models import EntryPhrasing
from ml.index import ReloadingIndex
from ml.registry import indexes

KB_INDEX = "chat_kb"


def kb_index_source(ids: Sequence[int] | None) -> Iterator[tuple[int, str]]:
    """(phrasing id, text) of active entries' phrasings; of `ids` only, unless None."""
    rows = EntryPhrasing.objects.filter(entry__active=True)
    if ids is not None:
        rows = rows.filter(id__in=list(ids))
    yield from rows.order_by("id").values_list("id", "text").iterator(chunk_size=2000)


def kb_index_spec() -> indexes.NamedIndexSpec:
    return indexes.NamedIndexSpec(
        name=KB_INDEX,
        source=kb_index_source,
        approximate_threshold=settings.CHAT_INDEX_APPROXIMATE_THRESHOLD,
    )


def kb_index_path() -> Path:
    return indexes.index_path(name=KB_INDEX)


def kb_index_reader() -> ReloadingIndex:
    """This process's view of the index (reloaded within a second of a new version)."""
    return indexes.index_reader(name=KB_INDEX)


def kb_index_search(vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(scores, phrasing ids) of one query vector, best first, padded with id -1."""
    scores, ids = indexes.index_search(name=KB_INDEX, vectors=vector, k=k)
    return scores[0], ids[0]

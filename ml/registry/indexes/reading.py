"""Read side (web processes): a per-process ReloadingIndex per index, and search on it."""

from __future__ import annotations

import numpy as np

from ml.index import ReloadingIndex
from ml.index.filters import IdSet
from ml.registry.indexes.specs import _lock, _readers, index_config, index_path, index_spec


def index_reader(*, name: str) -> ReloadingIndex:
    """This process's view of the index, reloaded when a writer publishes a new version.

    A saved index of another encoder is refused (IndexSpaceMismatch, logged): searches find
    nothing until a rebuild, rather than confident nonsense.
    """
    key = (name, index_path(name=name))
    reader = _readers.get(key)
    if reader is None:
        with _lock:
            reader = _readers.get(key)
            if reader is None:
                spec = index_spec(name=name)
                reader = ReloadingIndex(
                    key[1], index_config(name=name), check_interval_s=spec.reload_interval_s
                )
                _readers[key] = reader
    return reader


def index_search(
    *,
    name: str,
    vectors: np.ndarray,
    k: int,
    allow_ids: IdSet | None = None,
    exclude_ids: IdSet | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids), each (Q, k), best first; k eligible hits whenever k exist, else -1 pads.

    `allow_ids` ("only available items") and `exclude_ids` ("not what this user already
    bought") are applied inside FAISS, so callers never over-fetch and filter by hand.
    """
    index = index_reader(name=name).get()
    return index.search(vectors, k, allow_ids=allow_ids, exclude_ids=exclude_ids)

"""The knowledge-base vector index: phrasing id -> vector, shared by web and workers.

Workers write it (atomic save, version stamp); web processes hold a ReloadingIndex that swaps
in the new version within a second, so a reply never waits for a rebuild.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from django.conf import settings

from ml.index import IndexConfig, IndexSpaceMismatch, ReloadingIndex, VectorIndex

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_readers: dict[Path, ReloadingIndex] = {}


def kb_index_path() -> Path:
    return Path(settings.ML_ARTIFACTS_DIR) / "indexes" / "chat_kb"


def kb_index_config() -> IndexConfig:
    """The shape and the embedding space of this process's encoder (loads it if need be).

    A saved index of another space (ML_BASE_MODEL changed) is refused by readers until a
    rebuild; the bot then finds nothing and offers a person rather than wrong answers.
    """
    from ml.registry.serving import get_encoder

    encoder = get_encoder()
    return IndexConfig(
        dim=encoder.dim,
        approximate_threshold=settings.CHAT_INDEX_APPROXIMATE_THRESHOLD,
        space=encoder.space,
    )


def kb_index_reader() -> ReloadingIndex:
    """This process's view of the index (one per artifacts dir, reloaded on version change)."""
    path = kb_index_path()
    reader = _readers.get(path)
    if reader is None:
        with _lock:
            reader = _readers.get(path)
            if reader is None:
                reader = ReloadingIndex(path, kb_index_config(), check_interval_s=0.5)
                _readers[path] = reader
    return reader


def kb_index_search(vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    scores, ids = kb_index_reader().get().search(vector, k)
    return scores[0], ids[0]


@contextlib.contextmanager
def kb_index_writer(*, fresh: bool = False) -> Iterator[VectorIndex]:
    """Load (or start empty), let the caller change, save: one writer at a time (flock).

    Raises IndexSpaceMismatch, before the caller changes anything, when the saved index was
    built by another encoder or does not say which (saved before spaces were recorded):
    adding this encoder's vectors to it would mix two spaces. Rebuild instead.
    """
    path = kb_index_path()
    config = kb_index_config()
    path.mkdir(parents=True, exist_ok=True)
    with open(path / ".write.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            try:
                if fresh:
                    raise FileNotFoundError("rebuild starts from an empty index")
                index = VectorIndex.load(path, config)
            except FileNotFoundError:
                index = VectorIndex(config)
            if index.space != config.space:
                raise IndexSpaceMismatch(path, index.space, str(config.space))
            yield index
            version = index.save(path)
            logger.info("chat kb index saved version=%s vectors=%s", version, len(index))
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)

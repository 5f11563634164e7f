"""Write side (gpu workers): one flock-held writer at a time; sync, rebuild, ensure current.

Writers publish atomically (ml/index/persistence.py), so any number of workers on any number
of machines sharing the folder can take turns.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from ml.embeddings import encoder_space
from ml.index import IndexSpaceMismatch, VectorIndex
from ml.registry.indexes.specs import (
    NamedIndexSpec,
    _encoder,
    _model_dir,
    index_config,
    index_path,
    index_spec,
)

logger = logging.getLogger(__name__)

WRITE_LOCK = ".write.lock"


@dataclass(frozen=True)
class IndexSyncResult:
    upserted: int
    removed: int
    rebuilt: bool = False


@dataclass(frozen=True)
class IndexEnsureResult:
    rebuilt: bool
    space: str
    reason: str
    previous_space: str | None = None
    vectors: int | None = None


@contextlib.contextmanager
def index_writer(*, name: str, fresh: bool = False) -> Iterator[VectorIndex]:
    """Load (or start empty), let the caller change, save: one writer at a time (flock).

    Raises IndexSpaceMismatch before the caller changes anything when the saved index was
    built by another encoder or does not say which: adding this encoder's vectors would mix
    two spaces. Rebuild instead (`fresh=True`).
    """
    path = index_path(name=name)
    config = index_config(name=name)
    path.mkdir(parents=True, exist_ok=True)
    with open(path / WRITE_LOCK, "a+b") as lock_file:
        fcntl.flock(lock_file.fileno(), fcntl.LOCK_EX)
        try:
            try:
                if fresh:
                    raise FileNotFoundError("a rebuild starts from an empty index")
                index = VectorIndex.load(path, config)
            except FileNotFoundError:
                index = VectorIndex(config)
            if index.space != config.space:
                raise IndexSpaceMismatch(path, index.space, str(config.space))
            yield index
            version = index.save(path)
            logger.info("index saved name=%s version=%s vectors=%s", name, version, len(index))
        finally:
            fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)


def _batches(rows: Iterable[tuple[int, str]], size: int) -> Iterator[dict[int, str]]:
    """Rows in chunks of `size` distinct ids (a later duplicate replaces the earlier text)."""
    batch: dict[int, str] = {}
    for row_id, text in rows:
        batch[int(row_id)] = text
        if len(batch) >= size:
            yield batch
            batch = {}
    if batch:
        yield batch


def _embed_into(index: VectorIndex, spec: NamedIndexSpec, batch: dict[int, str]) -> None:
    ids = np.fromiter(batch.keys(), dtype=np.int64, count=len(batch))
    index.upsert(ids, _encoder(spec).encode(list(batch.values())))


def index_sync(*, name: str, ids: Sequence[int]) -> IndexSyncResult:
    """Re-embed what the source yields for `ids` and remove the ids it does not yield.

    Idempotent: running it twice, or for an id deleted meanwhile, leaves the same index. When
    the saved index was built by another encoder everything is re-embedded instead (a rebuild),
    since this encoder's vectors cannot join it.
    """
    spec = index_spec(name=name)
    wanted = sorted({int(i) for i in ids})
    try:
        with index_writer(name=name) as index:
            upserted: set[int] = set()
            for batch in _batches(spec.source(wanted), spec.batch_size):
                _embed_into(index, spec, batch)
                upserted.update(batch)
            removed = index.remove([i for i in wanted if i not in upserted])
    except IndexSpaceMismatch as exc:
        logger.warning("index %s was built by another encoder (%s); rebuilding it", name, exc)
        return IndexSyncResult(upserted=index_rebuild(name=name), removed=0, rebuilt=True)
    logger.info(
        "index synced name=%s ids=%s upserted=%s removed=%s",
        name,
        len(wanted),
        len(upserted),
        removed,
    )
    return IndexSyncResult(upserted=len(upserted), removed=removed)


def index_rebuild(
    *, name: str, progress: Callable[[float], None] | None = None, batch_size: int | None = None
) -> int:
    """Embed everything the source yields into a fresh index, published as one new version.

    Readers keep the previous version until this one is complete. Returns the vector count.
    """
    spec = index_spec(name=name)
    rows = list(spec.source(None))
    size = batch_size or spec.batch_size
    with index_writer(name=name, fresh=True) as index:
        done = 0
        for batch in _batches(rows, size):
            _embed_into(index, spec, batch)
            done += len(batch)
            if progress is not None:
                progress(min(1.0, done / max(1, len(rows))))
        count = len(index)
    return count


def index_ensure_current(*, name: str) -> IndexEnsureResult:
    """Rebuild the index when its saved vectors were not made by the configured encoder.

    Reads the encoder's identity from its model dir without loading it, so a worker start
    costs a digest, not a model load, when nothing changed.
    """
    spec = index_spec(name=name)
    wanted = encoder_space(_model_dir(spec))
    meta = VectorIndex.saved_meta(index_path(name=name))
    saved = meta.get("space") if meta else None
    if meta is None and _source_is_empty(spec):
        return IndexEnsureResult(
            rebuilt=False, space=wanted, reason="no index and nothing to index"
        )
    if saved == wanted:
        return IndexEnsureResult(rebuilt=False, space=wanted, reason="current")
    vectors = index_rebuild(name=name)
    logger.info(
        "index %s rebuilt for encoder %s (was %s): %s vectors", name, wanted, saved, vectors
    )
    return IndexEnsureResult(
        rebuilt=True,
        space=wanted,
        reason="never built" if meta is None else "built by another encoder",
        previous_space=saved,
        vectors=vectors,
    )


def _source_is_empty(spec: NamedIndexSpec) -> bool:
    rows = iter(spec.source(None))
    try:
        return next(rows, None) is None
    finally:
        close = getattr(rows, "close", None)
        if close is not None:
            close()  # a generator holding a database cursor lets it go now

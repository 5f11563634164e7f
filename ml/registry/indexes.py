"""Named vector indexes: an app declares a source of `(id, text)`, the core runs the lifecycle.

An app registers a `NamedIndexSpec` at startup (its AppConfig.ready). From then on the core
keeps the index under `ML_ARTIFACTS_DIR/indexes/<name>`:

- `index_sync` re-embeds the given ids (a task on the `gpu` queue: embedding is model work);
  ids the source no longer yields are removed.
- `index_rebuild` embeds everything into a fresh index, published as one new version.
- `index_ensure_current` rebuilds when the saved index was made by another encoder (or does not
  say which); every worker queues it for every index when it starts, so changing
  `ML_BASE_MODEL` needs no manual step.
- `index_reader` / `index_search` serve web processes from a per-process ReloadingIndex that
  swaps in a new version within a second of a worker publishing it.
- `index_status` says, without loading a model, what admin should show.

Writers hold a flock on the index folder and publish atomically (ml/index/persistence.py), so
any number of workers on any number of machines sharing the folder can take turns.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from celery import current_app
from django.conf import settings

from ml.embeddings import Encoder, encoder_space
from ml.errors import NotFound
from ml.index import IndexConfig, IndexSpaceMismatch, ReloadingIndex, VectorIndex
from ml.index.filters import IdSet

logger = logging.getLogger(__name__)

IndexSource = Callable[[Sequence[int] | None], Iterable[tuple[int, str]]]
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")
WRITE_LOCK = ".write.lock"


@dataclass(frozen=True)
class NamedIndexSpec:
    """What an app declares for one index.

    `source(ids)` yields `(id, text)` for those of `ids` that belong in the index (None: every
    one that does); an id asked for and not yielded is removed. Ids are int64 >= 0.
    `model_dir_setting` names the setting holding the encoder's model dir.
    """

    name: str
    source: IndexSource
    approximate_threshold: int = 20_000
    model_dir_setting: str = "ML_BASE_MODEL"
    batch_size: int = 512
    reload_interval_s: float = 0.5

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(
                f"index name {self.name!r}: use lowercase letters, digits, '_', '.', '-' "
                "(it names a folder under ML_ARTIFACTS_DIR/indexes)"
            )
        if self.batch_size < 1 or self.approximate_threshold < 1:
            raise ValueError(f"index {self.name}: batch_size and approximate_threshold >= 1")


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


@dataclass(frozen=True)
class IndexStatus:
    """What admin shows: the saved version, its size and encoder, and what is wrong, if any."""

    name: str
    version: int | None
    vectors: int
    space: str | None
    encoder_space: str | None
    problem: str | None

    @property
    def current(self) -> bool:
        return self.problem is None


class UnknownIndex(NotFound):
    code = "unknown_index"


_specs: dict[str, NamedIndexSpec] = {}
_readers: dict[tuple[str, Path], ReloadingIndex] = {}
_lock = threading.Lock()


def index_register(spec: NamedIndexSpec) -> None:
    """Declare an index (idempotent for the same spec; a second, different spec is refused)."""
    existing = _specs.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"index {spec.name!r} is already registered with another spec")
    _specs[spec.name] = spec


def index_unregister(*, name: str) -> None:
    """Forget an index (tests, an app switched off); its files stay where they are."""
    _specs.pop(name, None)
    with _lock:
        for key in [key for key in _readers if key[0] == name]:
            del _readers[key]


def index_spec(*, name: str) -> NamedIndexSpec:
    try:
        return _specs[name]
    except KeyError:
        raise UnknownIndex(
            f"no vector index named {name!r}; registered: {sorted(_specs) or 'none'}"
        ) from None


def index_names() -> list[str]:
    return sorted(_specs)


def index_path(*, name: str) -> Path:
    index_spec(name=name)
    return Path(settings.ML_ARTIFACTS_DIR) / "indexes" / name


def _model_dir(spec: NamedIndexSpec) -> str:
    return str(getattr(settings, spec.model_dir_setting))


def _encoder(spec: NamedIndexSpec) -> Encoder:
    from ml.registry.serving import get_encoder

    model_dir = _model_dir(spec)
    if model_dir == str(settings.ML_BASE_MODEL):
        return get_encoder()
    return get_encoder(model_dir=Path(model_dir))  # one encoder per model dir and process


def index_config(*, name: str) -> IndexConfig:
    """Shape and embedding space of this process's encoder for the index (loads it if need be)."""
    spec = index_spec(name=name)
    encoder = _encoder(spec)
    return IndexConfig(
        dim=encoder.dim, approximate_threshold=spec.approximate_threshold, space=encoder.space
    )


# --- read side (web processes) ------------------------------------------------------------------


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


# --- write side (gpu workers) --------------------------------------------------------------------


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


def index_status(*, name: str) -> IndexStatus:
    """What the saved index holds and whether the configured encoder made it (no model load)."""
    spec = index_spec(name=name)
    try:
        wanted: str | None = _configured_encoder_space(_model_dir(spec))
    except (OSError, ValueError) as exc:
        wanted, encoder_problem = None, f"the encoder's model dir is unusable: {exc}"
    else:
        encoder_problem = None
    empty = {"name": name, "version": None, "vectors": 0, "space": None, "encoder_space": wanted}
    try:
        meta = VectorIndex.saved_meta(index_path(name=name))
    except (OSError, ValueError) as exc:  # a version pruned under us, a damaged file
        return IndexStatus(**empty, problem=f"cannot read the saved index: {exc}")
    if meta is None:
        return IndexStatus(**empty, problem=encoder_problem or "not built yet")
    space = meta.get("space")
    problem = encoder_problem
    if problem is None and space is None:
        problem = "saved before indexes recorded their encoder; a rebuild makes sure"
    elif problem is None and space != wanted:
        problem = f"built by another encoder ({space}); it cannot be searched until rebuilt"
    return IndexStatus(
        name=name,
        version=int(meta["version"]),
        vectors=int(meta["count"]),
        space=space,
        encoder_space=wanted,
        problem=problem,
    )


@functools.cache
def _configured_encoder_space(model_dir: str) -> str:
    """Once per process: a process encodes with the model it started with, whatever changes
    on disk later (a swap takes a restart)."""
    return encoder_space(model_dir)


# --- queueing (by task name: this module never imports ml.tasks) ---------------------------------


def _task_send(task_name: str, **kwargs: Any) -> None:
    """Queue a task by name; with CELERY_TASK_ALWAYS_EAGER (tests, no worker) run it here."""
    app = current_app
    if app.conf.task_always_eager:
        app.loader.import_default_modules()  # registers the tasks that autodiscovery finds
        app.tasks[task_name].apply_async(kwargs=kwargs)
        return
    app.send_task(task_name, kwargs=kwargs)


def index_sync_queue(*, name: str, ids: Iterable[int]) -> None:
    """Queue `index_sync` for these ids on the `gpu` queue (call it after the commit)."""
    index_spec(name=name)
    wanted = sorted({int(i) for i in ids})
    if wanted:
        _task_send("ml.index_sync", name=name, ids=wanted)


def index_rebuild_queue(*, name: str) -> None:
    index_spec(name=name)
    _task_send("ml.index_rebuild", name=name)


def index_ensure_current_queue_all() -> list[str]:
    """Queue `index_ensure_current` for every registered index (a worker does it on start)."""
    for name in index_names():
        _task_send("ml.index_ensure_current", name=name)
    return index_names()

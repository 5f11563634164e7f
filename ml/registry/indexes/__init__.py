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

Split by concern: `specs` (declarations, registry, encoder), `reading`, `writing`, `status`,
`queueing`. Import from here; the submodules import each other, never this package.
"""

from ml.registry.indexes.queueing import (
    index_ensure_current_queue_all,
    index_rebuild_queue,
    index_sync_queue,
)
from ml.registry.indexes.reading import index_reader, index_search
from ml.registry.indexes.specs import (
    IndexSource,
    NamedIndexSpec,
    UnknownIndex,
    index_config,
    index_names,
    index_path,
    index_register,
    index_spec,
    index_unregister,
)
from ml.registry.indexes.status import IndexStatus, index_status
from ml.registry.indexes.writing import (
    WRITE_LOCK,
    IndexEnsureResult,
    IndexSyncResult,
    index_ensure_current,
    index_rebuild,
    index_sync,
    index_writer,
)

__all__ = [
    "WRITE_LOCK",
    "IndexEnsureResult",
    "IndexSource",
    "IndexStatus",
    "IndexSyncResult",
    "NamedIndexSpec",
    "UnknownIndex",
    "index_config",
    "index_ensure_current",
    "index_ensure_current_queue_all",
    "index_names",
    "index_path",
    "index_reader",
    "index_rebuild",
    "index_rebuild_queue",
    "index_register",
    "index_search",
    "index_spec",
    "index_status",
    "index_sync",
    "index_sync_queue",
    "index_unregister",
    "index_writer",
]

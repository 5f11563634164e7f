"""Cosine-similarity vector index over int64 ids, backed by FAISS.

Small indexes use an exact IndexIDMap2(IndexFlatIP); past `approximate_threshold` vectors the
index switches to HNSW (IndexHNSWFlat, inner product). HNSW cannot delete, so numpy arrays of
ids and vectors stay the source of truth: removed or replaced ids become tombstoned HNSW labels,
excluded during search, and the graph is rebuilt once tombstones pass 20% of it.

Search contract: `search(queries, k)` returns `(scores, ids)`, float32 and int64 arrays of
shape (Q, k), best first. Rows with fewer than k hits (small index, or HNSW missing a few) are
padded with id -1 and score -inf. Scores are cosine similarities: vectors and queries are
L2-normalised on the way in (a no-op for Encoder output). `allow_ids` / `exclude_ids` filter
inside FAISS (see ml/index/filters.py): k eligible hits come back whenever k exist, never fewer
because filtered ids took their places.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import faiss
import numpy as np

from ml.index.arrays import IdsLike, as_ids, as_unit_rows, compact_rows, grow
from ml.index.config import IndexConfig, faiss_has_gpu, shared_gpu_resources
from ml.index.filters import IdFilter, IdSet, exact_top_k, labels_selector
from ml.index.saved import SavedIndexMixin

log = logging.getLogger(__name__)

TOMBSTONE_REBUILD_RATIO = 0.2


class VectorIndex(SavedIndexMixin):
    """Mutable cosine index keyed by int64 ids; see the module docstring for the contract.

    Public methods take an internal re-entrant lock, so one worker thread may upsert while
    others search the same object; web processes normally hold a read-only loaded copy.
    """

    def __init__(self, config: IndexConfig) -> None:
        self._config = config
        self._lock = threading.RLock()
        self._save_lock = threading.Lock()  # saves of one object run one after another
        self._use_gpu = faiss_has_gpu() if config.use_gpu is None else config.use_gpu
        if self._use_gpu and not faiss_has_gpu():
            raise ValueError(
                "IndexConfig.use_gpu=True but faiss has no GPU support or sees no GPU; "
                "install faiss-gpu or set use_gpu=None/False"
            )
        self._version = 0
        self._changes = 0  # bumped by every effective mutation, to tell if a save is due
        self._saved_changes = 0
        # Source of truth: rows [0, n) of these buffers, and id -> row.
        self._ids = np.empty(0, dtype=np.int64)
        self._vecs = np.empty((0, config.dim), dtype=np.float32)
        self._n = 0
        self._row: dict[int, int] = {}
        # Flat mode: a CPU IndexIDMap2, or a GPU mirror rebuilt lazily from the buffers.
        self._flat: Any = None
        self._gpu: Any = None
        self._gpu_row_ids = np.empty(0, dtype=np.int64)
        self._gpu_dirty = True
        # HNSW mode: label -> id (-1 = tombstone) and id -> live label.
        self._hnsw: Any = None
        self._label_ids = np.empty(0, dtype=np.int64)
        self._label: dict[int, int] = {}
        self._n_dead = 0
        self._selector: tuple[Any, np.ndarray] | None = None
        self._kind = "flat"
        self._build_flat()

    # -- introspection -------------------------------------------------------------------

    @property
    def config(self) -> IndexConfig:
        return self._config

    @property
    def dim(self) -> int:
        return self._config.dim

    @property
    def space(self) -> str | None:
        """The embedding space of the vectors (IndexConfig.space); None when unknown."""
        return self._config.space

    @property
    def kind(self) -> str:
        return self._kind

    @property
    def version(self) -> int:
        """Version last saved or loaded; 0 for an index never persisted."""
        return self._version

    @property
    def dirty(self) -> bool:
        """True when there are upserts/removes not yet written by save() (or since load)."""
        return self._changes != self._saved_changes

    @property
    def tombstones(self) -> int:
        """Dead HNSW labels awaiting a rebuild (always 0 for the flat index)."""
        return self._n_dead

    def __len__(self) -> int:
        return self._n

    def __contains__(self, item: object) -> bool:
        if isinstance(item, bool) or not isinstance(item, int | np.integer):
            return False
        return int(item) in self._row

    def __repr__(self) -> str:
        return (
            f"VectorIndex(kind={self._kind}, n={self._n}, dim={self.dim}, "
            f"version={self._version}, tombstones={self._n_dead})"
        )

    def ids(self) -> np.ndarray:
        """All live ids, sorted ascending (a copy)."""
        with self._lock:
            return np.sort(self._ids[: self._n])

    def get_vectors(self, ids: IdsLike) -> np.ndarray:
        """Stored unit vectors for `ids` in the given order; KeyError naming unknown ids."""
        arr = as_ids(ids)
        with self._lock:
            missing = [int(i) for i in arr if int(i) not in self._row]
            if missing:
                raise KeyError(f"ids not in the index: {missing[:5]}{'...' * (len(missing) > 5)}")
            rows = np.fromiter((self._row[int(i)] for i in arr), dtype=np.int64, count=len(arr))
            return self._vecs[rows].copy()

    # -- mutation ------------------------------------------------------------------------

    def upsert(self, ids: IdsLike, vectors: np.ndarray) -> None:
        """Add new ids and replace the vectors of existing ones."""
        arr = as_ids(ids)
        if arr.size == 0 and np.asarray(vectors).size == 0:
            return
        vecs = as_unit_rows(vectors, self.dim, what="vectors")
        if vecs.shape[0] != arr.size:
            raise ValueError(f"got {arr.size} ids but {vecs.shape[0]} vectors; pass one per id")
        uniq, counts = np.unique(arr, return_counts=True)
        if (counts > 1).any():
            dups = uniq[counts > 1][:5].tolist()
            raise ValueError(f"duplicate ids in one upsert call: {dups}; pass each id once")
        with self._lock:
            self._changes += 1
            known = np.fromiter((int(i) in self._row for i in arr), dtype=bool, count=arr.size)
            old_ids, new_ids = arr[known], arr[~known]
            if old_ids.size:
                rows = np.fromiter((self._row[int(i)] for i in old_ids), np.int64, old_ids.size)
                self._vecs[rows] = vecs[known]
            if new_ids.size:
                self._append(new_ids, vecs[~known])
            if self._kind == "flat":
                if self._flat is not None:
                    if old_ids.size:
                        self._flat.remove_ids(old_ids)
                    self._flat.add_with_ids(vecs, arr)
                self._gpu_dirty = True
                if self._n >= self._config.approximate_threshold:
                    self._build_hnsw()
            else:
                self._kill_labels(old_ids)
                self._hnsw_add(arr, vecs)
                self._maybe_rebuild()

    def remove(self, ids: IdsLike) -> int:
        """Remove ids; unknown (and negative) ids are ignored. Returns how many were removed."""
        arr = np.unique(as_ids(ids, allow_negative=True))  # -1 padding is just "unknown"
        with self._lock:
            present = np.array([i for i in arr.tolist() if i in self._row], dtype=np.int64)
            if present.size == 0:
                return 0
            self._changes += 1
            for i in present.tolist():
                self._delete_row(i)
            if self._kind == "flat":
                if self._flat is not None:
                    self._flat.remove_ids(present)
                self._gpu_dirty = True
            else:
                self._kill_labels(present)
                self._maybe_rebuild()
            return int(present.size)

    def rebuild(self) -> None:
        """Rebuild from the stored vectors: drops tombstones and re-picks flat vs HNSW by size."""
        with self._lock:
            if self._n >= self._config.approximate_threshold:
                self._build_hnsw()
            else:
                self._build_flat()

    # -- search --------------------------------------------------------------------------

    def search(
        self,
        queries: np.ndarray,
        k: int,
        *,
        allow_ids: IdSet | None = None,
        exclude_ids: IdSet | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids) per query row among the eligible ids; a 1-D query is one row.

        Args:
            queries: (Q, dim) or (dim,) vectors; scaled to unit length here.
            k: hits wanted per row.
            allow_ids: only these ids may be returned (an empty set returns nothing).
            exclude_ids: these ids are never returned (applied after `allow_ids`).

        Returns:
            (scores, ids), each (Q, k), best first. The filter runs inside FAISS, so a row has
            k hits whenever k eligible ids exist; past that it is padded with id -1 / -inf
            (also when the exclusions cover everything).
        """
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
            raise ValueError(f"k={k!r} must be a positive integer")
        k = int(k)
        q = as_unit_rows(queries, self.dim, what="queries")
        flt = IdFilter.build(allow_ids, exclude_ids)
        with self._lock:
            if self._n == 0 or q.shape[0] == 0 or (flt is not None and flt.allows_nothing):
                return compact_rows(
                    np.empty((q.shape[0], 0), np.float32), np.empty((q.shape[0], 0), np.int64), k
                )
            if self._kind == "hnsw":
                return self._search_hnsw(q, k, flt)
            fetch = min(k, self._n)
            if self._flat is not None:
                params, keep = None, None
                if flt is not None:
                    selector, keep = flt.selector()
                    params = faiss.SearchParameters(sel=selector)
                scores, ids = self._flat.search(q, fetch, params=params)
                del keep  # the selector's arrays lived until the search returned
            elif flt is None:
                scores, ids = self._search_gpu(q, fetch)
            else:  # GPU flat indexes take no selector: exact search over the eligible rows
                rows = flt.mask(self._ids[: self._n])
                scores, ids = exact_top_k(
                    q, self._vecs[: self._n][rows], self._ids[: self._n][rows], fetch
                )
            return compact_rows(scores, ids, k)

    def _search_gpu(self, q: np.ndarray, fetch: int) -> tuple[np.ndarray, np.ndarray]:
        if self._gpu is None or self._gpu_dirty:
            cpu = faiss.IndexFlatIP(self.dim)
            cpu.add(self._vecs[: self._n])
            self._gpu = faiss.index_cpu_to_gpu(shared_gpu_resources(), 0, cpu)
            self._gpu_row_ids = self._ids[: self._n].copy()
            self._gpu_dirty = False
        scores, rows = self._gpu.search(q, fetch)
        ids = np.where(rows >= 0, self._gpu_row_ids[np.maximum(rows, 0)], -1)
        return scores, ids

    def _search_hnsw(
        self, q: np.ndarray, k: int, flt: IdFilter | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Tombstones and filtered-out ids are skipped inside the graph walk via an IDSelector,
        so fetching k is enough; the candidate list is widened when HNSW returns fewer than
        min(k, eligible) hits."""
        total = self._hnsw.ntotal
        selector, eligible, keep = self._hnsw_selector(flt)
        want = min(k, eligible)
        fetch = min(k, total)
        while True:
            params = faiss.SearchParametersHNSW(efSearch=max(self._config.ef_search, fetch))
            if selector is not None:
                params.sel = selector
            scores, labels = self._hnsw.search(q, fetch, params=params)
            ids = np.where(labels >= 0, self._label_ids[np.maximum(labels, 0)], -1)
            short = ((ids >= 0).sum(axis=1) < want).any()
            if not short or fetch >= total:
                del keep  # the selectors' arrays lived until the last search returned
                return compact_rows(scores, ids, k)
            fetch = min(total, fetch * 2 + self._n_dead)

    def _hnsw_selector(self, flt: IdFilter | None) -> tuple[Any, int, list[Any]]:
        """(selector over HNSW labels or None, how many ids are eligible, keep-alive list).

        Labels, not ids, are what the graph stores: an allow-list maps to its live labels
        (tombstones are never among them); exclusions are AND-ed with the live bitmap.
        """
        live = self._live_selector() if self._n_dead else None
        if flt is None:
            return live, self._n, []
        if flt.allow is not None:
            wanted = flt.allow.tolist()
            labels = np.array([self._label[i] for i in wanted if i in self._label], np.int64)
            selector, keep = labels_selector(labels)
            return selector, int(labels.size), keep
        gone = flt.exclude.tolist()
        labels = np.array([self._label[i] for i in gone if i in self._label], np.int64)
        selector, keep = labels_selector(labels, negate=True, also=live)
        return selector, self._n - int(labels.size), keep

    def _live_selector(self) -> Any:
        if self._selector is None:
            live = self._label_ids[: self._hnsw.ntotal] >= 0
            bits = np.packbits(live, bitorder="little")
            # The selector keeps a raw pointer into `bits`; keep both alive together.
            self._selector = (faiss.IDSelectorBitmap(live.size, faiss.swig_ptr(bits)), bits)
        return self._selector[0]

    # -- internals -----------------------------------------------------------------------

    def _append(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        start, end = self._n, self._n + ids.size
        self._ids = grow(self._ids, end)
        self._vecs = grow(self._vecs, end)
        self._ids[start:end] = ids
        self._vecs[start:end] = vecs
        for offset, i in enumerate(ids.tolist()):
            self._row[i] = start + offset
        self._n = end

    def _delete_row(self, id_: int) -> None:
        """Swap-remove so deletes are O(1) and the live rows stay contiguous."""
        row = self._row.pop(id_)
        last = self._n - 1
        if row != last:
            moved = int(self._ids[last])
            self._ids[row] = moved
            self._vecs[row] = self._vecs[last]
            self._row[moved] = row
        self._n = last

    def _build_flat(self) -> None:
        self._hnsw, self._label_ids, self._label, self._n_dead = None, self._label_ids[:0], {}, 0
        self._selector = None
        self._kind = "flat"
        self._gpu, self._gpu_dirty = None, True
        if self._use_gpu:
            self._flat = None
            return
        flat = faiss.IndexIDMap2(faiss.IndexFlatIP(self.dim))
        if self._n:
            flat.add_with_ids(self._vecs[: self._n], self._ids[: self._n])
        self._flat = flat

    def _build_hnsw(self) -> None:
        started = time.perf_counter()
        cfg = self._config
        index = faiss.IndexHNSWFlat(cfg.dim, cfg.hnsw_m, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = cfg.ef_construction
        index.hnsw.efSearch = cfg.ef_search
        self._hnsw, self._label_ids, self._label, self._n_dead = index, self._ids[:0].copy(), {}, 0
        self._selector = None
        self._flat, self._gpu, self._kind = None, None, "hnsw"
        self._hnsw_add(self._ids[: self._n].copy(), self._vecs[: self._n])
        log.info("built HNSW over %d vectors in %.2fs", self._n, time.perf_counter() - started)

    def _hnsw_add(self, ids: np.ndarray, vecs: np.ndarray) -> None:
        start = self._hnsw.ntotal
        if ids.size == 0:
            return
        self._hnsw.add(vecs)
        self._label_ids = grow(self._label_ids, start + ids.size)
        self._label_ids[start : start + ids.size] = ids
        for offset, i in enumerate(ids.tolist()):
            self._label[i] = start + offset
        self._selector = None

    def _kill_labels(self, ids: np.ndarray) -> None:
        for i in ids.tolist():
            label = self._label.pop(i, None)
            if label is not None:
                self._label_ids[label] = -1
                self._n_dead += 1
        self._selector = None

    def _maybe_rebuild(self) -> None:
        if self._hnsw is not None and self._n_dead > TOMBSTONE_REBUILD_RATIO * self._hnsw.ntotal:
            self.rebuild()

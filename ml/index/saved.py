"""Saving and loading a VectorIndex: one published version directory per save.

Kept apart from the search code; `VectorIndex` inherits these methods. A version dir holds
ids.npy, vectors.npy (the source of truth), meta.json and, for HNSW, the serialised graph and
its label -> id map. ml/index/persistence.py makes each save atomic.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

import faiss
import numpy as np

from ml.index.config import IndexConfig, IndexSpaceMismatch
from ml.index.persistence import read_current_version, save_version, version_dir

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
_LOAD_ATTEMPTS = 3


class SavedIndexMixin:
    """save / load / saved_meta of VectorIndex (uses its buffers; not usable on its own)."""

    def save(self, path: Path) -> int:
        """Publish the current contents as a new version under `path`; returns the version.

        Only the in-memory snapshot is taken under the search lock; file writes and fsyncs
        happen outside it, so searches on this object are not blocked by disk I/O.
        """
        with self._save_lock:
            return self._save(Path(path))

    def _save(self, path: Path) -> int:
        with self._lock:
            n = self._n
            snapshot: dict[str, Any] = {
                "ids": self._ids[:n].copy(),
                "vectors": self._vecs[:n].copy(),
                "kind": self._kind,
                "tombstones": self._n_dead,
            }
            if self._kind == "hnsw":
                snapshot["index"] = faiss.serialize_index(self._hnsw)
                snapshot["labels"] = self._label_ids[: self._hnsw.ntotal].copy()
            changes = self._changes

        def write(out: Path, version: int) -> None:
            self._write_files(out, version, snapshot)

        version = save_version(path, write)
        with self._lock:
            self._version, self._saved_changes = version, changes
        return version

    def _write_files(self, out: Path, version: int, snap: dict[str, Any]) -> None:
        np.save(out / "ids.npy", snap["ids"], allow_pickle=False)
        np.save(out / "vectors.npy", snap["vectors"], allow_pickle=False)
        if snap["kind"] == "hnsw":
            (out / "index.faiss").write_bytes(snap["index"].tobytes())
            np.save(out / "hnsw_labels.npy", snap["labels"], allow_pickle=False)
        now = time.time()
        meta = {
            "format": FORMAT_VERSION,
            "dim": self.dim,
            "kind": snap["kind"],
            "version": version,
            "count": int(snap["ids"].size),
            "tombstones": snap["tombstones"],
            "created": datetime.fromtimestamp(now, UTC).isoformat(),
            "created_unix": now,
            "hnsw_m": self._config.hnsw_m,
            "ef_construction": self._config.ef_construction,
            "space": self._config.space,
        }
        (out / "meta.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")

    @staticmethod
    def saved_meta(path: Path) -> dict[str, Any] | None:
        """meta.json of the version CURRENT points to (None when nothing is saved), cheaply."""
        version = read_current_version(Path(path))
        if version is None:
            return None
        return json.loads((version_dir(Path(path), version) / "meta.json").read_text("utf-8"))

    @classmethod
    def load(cls, path: Path, config: IndexConfig | None = None) -> Self:
        """Load the version CURRENT points to; `config` defaults to the saved dim and space.

        Raises IndexSpaceMismatch when `config.space` is set and the saved index records
        another space. An index saved before spaces were recorded loads with `space` None
        (unknown), so an upgrade keeps serving until its owner rebuilds it.

        Retries when a concurrent writer prunes the version between reading CURRENT and
        reading its files.
        """
        path = Path(path)
        for attempt in range(_LOAD_ATTEMPTS):
            version = read_current_version(path)
            if version is None:
                raise FileNotFoundError(f"{path}/CURRENT not found: no index saved there yet")
            try:
                return cls._load_version(version_dir(path, version), version, config)
            except FileNotFoundError:
                if attempt == _LOAD_ATTEMPTS - 1 or read_current_version(path) == version:
                    raise
        raise AssertionError("unreachable")

    @classmethod
    def _load_version(cls, vdir: Path, version: int, config: IndexConfig | None) -> Self:
        meta = json.loads((vdir / "meta.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(f"{vdir}/meta.json has format {meta.get('format')!r}; re-save it")
        if config is None:
            config = IndexConfig(dim=int(meta["dim"]), space=meta.get("space"))
        elif config.space is not None and meta.get("space") not in (None, config.space):
            raise IndexSpaceMismatch(vdir, meta.get("space"), config.space)
        elif meta.get("space") is None and config.space is not None:
            config = dataclasses.replace(config, space=None)
        if config.dim != int(meta["dim"]):
            raise ValueError(
                f"{vdir} holds dim {meta['dim']} vectors but IndexConfig.dim={config.dim}; "
                "use the encoder the index was built with or rebuild the index"
            )
        ids = np.load(vdir / "ids.npy", allow_pickle=False)
        vecs = np.load(vdir / "vectors.npy", allow_pickle=False)
        if ids.shape != (int(meta["count"]),) or vecs.shape != (ids.size, config.dim):
            raise ValueError(f"{vdir}: ids {ids.shape} / vectors {vecs.shape} do not match meta")
        index = cls(config)
        index._append(ids.astype(np.int64, copy=False), vecs.astype(np.float32, copy=False))
        if meta["kind"] == "hnsw":
            index._restore_hnsw(vdir)
        else:
            index._build_flat()
        index._version = version
        return index

    def _restore_hnsw(self, vdir: Path) -> None:
        labels = np.load(vdir / "hnsw_labels.npy", allow_pickle=False).astype(np.int64)
        raw = np.fromfile(vdir / "index.faiss", dtype=np.uint8)
        hnsw = faiss.deserialize_index(raw)
        live = labels[labels >= 0]
        if (
            hnsw.ntotal != labels.size
            or hnsw.d != self.dim
            or not np.array_equal(np.sort(live), np.sort(self._ids[: self._n]))
        ):
            log.warning("%s: HNSW graph does not match ids.npy; rebuilding it", vdir)
            self._build_hnsw()
            return
        hnsw.hnsw.efSearch = self._config.ef_search
        self._hnsw, self._label_ids, self._kind = hnsw, labels, "hnsw"
        self._label = {int(i): int(lbl) for lbl, i in enumerate(labels.tolist()) if i >= 0}
        self._n_dead = int((labels < 0).sum())
        self._flat, self._gpu, self._selector = None, None, None

"""Id filters for search ("only these ids", "never these ids") as FAISS selectors.

Filtering happens inside FAISS (`SearchParameters.sel`), so a search returns its k best
*eligible* hits without the caller over-fetching and dropping rows by hand. FAISS selectors
work for flat, IVF and HNSW indexes on the CPU; the GPU flat mirror takes none, so it is
searched exactly over the eligible rows instead (`exact_top_k`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

import faiss
import numpy as np

from ml.index.arrays import as_ids

IdSet = Collection[int] | np.ndarray


def _id_array(ids: IdSet, what: str) -> np.ndarray:
    """Sorted unique int64 ids from a set, list or array; -1 and other negatives never match."""
    if isinstance(ids, set | frozenset):
        ids = np.fromiter(ids, dtype=np.int64, count=len(ids))
    elif not isinstance(ids, np.ndarray):
        ids = np.asarray(list(ids))
        if ids.size == 0:
            ids = ids.astype(np.int64)
    return np.unique(as_ids(ids, what=what, allow_negative=True))


@dataclass(frozen=True)
class IdFilter:
    """Which ids a search may return: `allow` (None = any id) minus `exclude`.

    `allow` already has the excluded ids taken out, so an allow-list is one selector.
    """

    allow: np.ndarray | None
    exclude: np.ndarray

    @classmethod
    def build(cls, allow_ids: IdSet | None, exclude_ids: IdSet | None) -> IdFilter | None:
        """None when neither is given (an unfiltered search); ValueError on non-integer ids."""
        if allow_ids is None and exclude_ids is None:
            return None
        exclude = (
            np.empty(0, dtype=np.int64)
            if exclude_ids is None
            else _id_array(exclude_ids, "exclude_ids")
        )
        if allow_ids is None:
            return cls(allow=None, exclude=exclude)
        allow = _id_array(allow_ids, "allow_ids")
        return cls(allow=np.setdiff1d(allow, exclude, assume_unique=True), exclude=exclude)

    @property
    def allows_nothing(self) -> bool:
        return self.allow is not None and self.allow.size == 0

    def selector(self) -> tuple[Any, list[Any]]:
        """A selector over the ids themselves (IndexIDMap translates labels to ids for it).

        Returns (selector, keep-alive list): composite FAISS selectors hold raw pointers to
        their parts, so the caller keeps the list referenced while the search runs.
        """
        ids = self.allow if self.allow is not None else self.exclude
        return labels_selector(ids, negate=self.allow is None)

    def mask(self, ids: np.ndarray) -> np.ndarray:
        """Boolean mask over `ids`: True where the id may be returned."""
        if self.allow is not None:
            return np.isin(ids, self.allow, assume_unique=False)
        return ~np.isin(ids, self.exclude)


def labels_selector(
    labels: np.ndarray, *, negate: bool = False, also: Any = None
) -> tuple[Any, list[Any]]:
    """IDSelectorBatch over `labels` (or its negation), optionally AND-ed with `also`."""
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    batch = faiss.IDSelectorBatch(labels.size, faiss.swig_ptr(labels))
    keep: list[Any] = [labels, batch]
    selector = batch
    if negate:
        selector = faiss.IDSelectorNot(batch)
        keep.append(selector)
    if also is not None:
        selector = faiss.IDSelectorAnd(also, selector)
        keep.append(selector)
    return selector, keep


def exact_top_k(
    queries: np.ndarray, vectors: np.ndarray, ids: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """Exact inner-product top-k of unit `queries` (Q, D) over `vectors` (N, D) labelled `ids`.

    Returns (scores, ids) of shape (Q, min(k, N)), best first; the caller pads to k.
    """
    fetch = min(k, vectors.shape[0])
    if fetch == 0:
        empty = np.empty((queries.shape[0], 0))
        return empty.astype(np.float32), empty.astype(np.int64)
    scores = queries @ vectors.T  # (Q, N)
    top = np.argpartition(-scores, fetch - 1, axis=1)[:, :fetch]
    top_scores = np.take_along_axis(scores, top, axis=1)
    order = np.argsort(-top_scores, axis=1, kind="stable")
    top = np.take_along_axis(top, order, axis=1)
    return np.take_along_axis(scores, top, axis=1).astype(np.float32), ids[top]

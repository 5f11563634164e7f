"""Input validation and result shaping shared by the index implementations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

IdsLike = Sequence[int] | np.ndarray


def grow(buf: np.ndarray, needed: int) -> np.ndarray:
    """Amortised-doubling capacity so one-at-a-time upserts stay O(1) each."""
    if needed <= len(buf):
        return buf
    cap = max(needed, 2 * len(buf), 64)
    out = np.empty((cap, *buf.shape[1:]), dtype=buf.dtype)
    out[: len(buf)] = buf
    return out


def as_ids(ids: IdsLike | int, *, what: str = "ids", allow_negative: bool = False) -> np.ndarray:
    """1-D int64 ids; floats are refused rather than truncated, -1 is reserved for padding."""
    arr = np.asarray(ids)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{what} must be 1-D, got shape {arr.shape}")
    if arr.size == 0:
        return np.empty(0, dtype=np.int64)
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{what} must be integers, got dtype {arr.dtype}")
    if arr.dtype.kind == "u" and arr.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{what} must fit in int64, got {int(arr.max())}")
    out = arr.astype(np.int64, copy=False)
    if not allow_negative and out.min() < 0:
        raise ValueError(f"{what} must be >= 0 (-1 marks padding), got {int(out.min())}")
    return out


def as_unit_rows(x: Any, dim: int, *, what: str) -> np.ndarray:
    """Validated C-contiguous float32 (n, dim) rows scaled to unit length (inner product = cos)."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{what} must be numeric, got dtype {arr.dtype}")
    arr = arr.astype(np.float32, copy=False)
    if arr.ndim == 1:
        arr = arr.reshape(1, -1)
    if arr.ndim != 2:
        raise ValueError(f"{what} must be 2-D (n, dim), got shape {arr.shape}")
    if arr.shape[1] != dim:
        raise ValueError(f"{what} have dim {arr.shape[1]} but the index dim is {dim}")
    if not np.isfinite(arr).all():
        bad = int(np.flatnonzero(~np.isfinite(arr).all(axis=1))[0])
        raise ValueError(f"{what} row {bad} has NaN or inf values")
    norms = np.linalg.norm(arr, axis=1, keepdims=True)
    if arr.shape[0] and (norms <= 1e-12).any():
        bad = int(np.flatnonzero(norms[:, 0] <= 1e-12)[0])
        raise ValueError(f"{what} row {bad} is a zero vector; cosine similarity is undefined")
    return np.ascontiguousarray(arr / norms, dtype=np.float32)


def compact_rows(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Move hits (id >= 0) left in their ranked order, pad with -1/-inf, cut to k columns."""
    order = np.argsort(ids < 0, axis=1, kind="stable")
    ids = np.take_along_axis(ids, order, axis=1)
    scores = np.take_along_axis(scores, order, axis=1).astype(np.float32, copy=False)
    scores[ids < 0] = -np.inf
    if ids.shape[1] < k:
        pad = k - ids.shape[1]
        ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
        scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
    return np.ascontiguousarray(scores[:, :k]), np.ascontiguousarray(ids[:, :k])

"""Cosine vector index (exact flat, HNSW past a size threshold) with versioned persistence."""

from __future__ import annotations

from ml.index.config import IndexConfig, IndexSpaceMismatch, faiss_has_gpu
from ml.index.persistence import read_current_version
from ml.index.reloading import ReloadingIndex
from ml.index.vector_index import VectorIndex

__all__ = [
    "IndexConfig",
    "IndexSpaceMismatch",
    "ReloadingIndex",
    "VectorIndex",
    "faiss_has_gpu",
    "read_current_version",
]

"""Index configuration and FAISS GPU detection."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

import faiss


@dataclass(frozen=True)
class IndexConfig:
    """Index shape and HNSW knobs; `use_gpu=None` means GPU when faiss was built with it.

    `space` names what the vectors mean (the encoder that made them, `Encoder.space`). It is
    saved with the index, and loading a saved index under another space is refused
    (IndexSpaceMismatch): a query from one model against another model's vectors returns
    confident nonsense. None skips the check.
    """

    dim: int
    approximate_threshold: int = 20_000
    hnsw_m: int = 32
    ef_construction: int = 80
    ef_search: int = 128
    use_gpu: bool | None = None
    space: str | None = None

    def __post_init__(self) -> None:
        for name in ("dim", "approximate_threshold", "ef_construction", "ef_search"):
            if getattr(self, name) < 1:
                raise ValueError(f"IndexConfig.{name}={getattr(self, name)} must be >= 1")
        if self.hnsw_m < 2:
            raise ValueError(f"IndexConfig.hnsw_m={self.hnsw_m} must be >= 2")


class IndexSpaceMismatch(ValueError):
    """A saved index holds vectors of another embedding space than the one asked for."""

    def __init__(self, path: object, saved: str | None, wanted: str) -> None:
        self.saved, self.wanted = saved, wanted
        super().__init__(
            f"{path} holds vectors of space {saved!r} but this process encodes into {wanted!r}; "
            "rebuild the index with the current encoder"
        )


def faiss_has_gpu() -> bool:
    """True only for a faiss-gpu build that sees a GPU; faiss-cpu lacks StandardGpuResources."""
    return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0


_gpu_resources: Any = None
_gpu_lock = threading.Lock()


def shared_gpu_resources() -> Any:
    """One StandardGpuResources per process: each one reserves a GPU scratch buffer."""
    global _gpu_resources
    with _gpu_lock:
        if _gpu_resources is None:
            _gpu_resources = faiss.StandardGpuResources()
        return _gpu_resources

"""Pick the compute device once, the same way everywhere in the core."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch

VALID_DEVICES = ("auto", "cpu", "cuda")


def resolve_device(requested: str = "auto") -> str:
    """Map an `ML_DEVICE` value (auto/cpu/cuda) to a concrete torch device name.

    Raises ValueError when cuda is asked for but not present, so a GPU worker that lost its GPU
    fails loudly instead of silently running 50x slower.
    """
    requested = (requested or "auto").lower()
    if requested not in VALID_DEVICES:
        raise ValueError(f"ML_DEVICE={requested!r} is not one of {', '.join(VALID_DEVICES)}")
    if requested == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if requested == "cuda" and not torch.cuda.is_available():
        raise ValueError("ML_DEVICE=cuda but torch sees no CUDA device; set ML_DEVICE=auto or cpu")
    return requested


def autocast_dtype(device: str) -> torch.dtype | None:
    """bf16 where the GPU supports it, else fp16 on CUDA; None (plain fp32) on CPU."""
    if not device.startswith("cuda"):
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


@contextlib.contextmanager
def autocast(device: str, enabled: bool = True) -> Iterator[None]:
    """Mixed precision on GPU; a no-op on CPU, where autocast is slower than fp32 here."""
    dtype = autocast_dtype(device) if enabled else None
    if dtype is None:
        yield
        return
    with torch.autocast(device_type="cuda", dtype=dtype):
        yield

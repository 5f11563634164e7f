"""Item text vectors from the shared encoder, cached on disk under var/ by text and model."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from ml.embeddings import Encoder, EncoderConfig, encoder_space


def text_vectors(texts: tuple[str, ...], model_dir: Path, cache_dir: Path) -> np.ndarray:
    """(len(texts), dim) unit vectors; encoded once per (texts, encoder) and then read back."""
    digest = hashlib.sha256(encoder_space(model_dir).encode())
    for text in texts:
        digest.update(text.encode())
        digest.update(b"\0")
    path = Path(cache_dir) / f"text-vectors-{digest.hexdigest()[:24]}.npy"
    if path.is_file():
        return np.load(path)
    encoder = Encoder(EncoderConfig(model_dir=Path(model_dir), device="auto", batch_size=128))
    vectors = encoder.encode(list(texts), show_progress=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npy")
    np.save(tmp, vectors)
    tmp.replace(path)
    return vectors

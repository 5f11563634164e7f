"""Text encoder producing unit-length float32 embeddings for cosine search."""

from __future__ import annotations

from ml.embeddings.encoder import (
    Encoder,
    EncoderConfig,
    ModelDirError,
    default_base_model_dir,
    encoder_space,
)

__all__ = ["Encoder", "EncoderConfig", "ModelDirError", "default_base_model_dir", "encoder_space"]

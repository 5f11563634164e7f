"""A process serves one encoder per base model directory, so apps may choose different bases."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ml.registry import serving


def test_two_base_models_are_served_side_by_side(settings, tiny_model_dir: Path) -> None:
    settings.ML_DEVICE, settings.ML_ENCODER_RUNTIME = "cpu", "torch"
    default = serving.get_encoder()
    tiny = serving.get_encoder(tiny_model_dir)

    assert (default.dim, tiny.dim) == (384, 32)  # MiniLM and the tiny test BERT
    assert serving.get_encoder() is default and serving.get_encoder(tiny_model_dir) is tiny
    assert serving.get_encoder(Path(settings.ML_BASE_MODEL)) is default
    assert {settings.ML_BASE_MODEL, str(tiny_model_dir)} <= set(serving.encoders_loaded())

    [minilm_vector] = serving.encode_texts(["where is my card?"])
    [tiny_vector] = serving.encode_texts(["where is my card?"], model_dir=tiny_model_dir)
    assert minilm_vector.shape == (384,) and tiny_vector.shape == (32,)
    np.testing.assert_allclose(tiny_vector, tiny.encode(["where is my card?"])[0], atol=1e-5)
    assert {"encoder", f"encoder:{tiny_model_dir}"} <= set(serving.batcher_names())

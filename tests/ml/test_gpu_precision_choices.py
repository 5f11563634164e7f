"""Precision on CUDA: measured defaults (fp32), opt-in bf16, and no effect on the CPU."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ml.device import autocast
from ml.embeddings import Encoder, EncoderConfig
from ml.embeddings.encoder import _resolve_precision
from ml.training import TrainConfig


@pytest.mark.parametrize(
    ("requested", "on_cuda"),
    [("auto", "fp32"), ("fp32", "fp32"), ("autocast", "autocast"), ("half", "half")],
)
def test_encoder_precision_resolves_to_the_measured_default_on_cuda(
    base_model_dir: Path, requested: str, on_cuda: str
) -> None:
    config = EncoderConfig(model_dir=base_model_dir, precision=requested)
    assert _resolve_precision(config, "cuda") == on_cuda
    assert _resolve_precision(config, "cpu") == "fp32"


def test_an_unknown_encoder_precision_is_refused(base_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="precision='bf8' must be one of auto, fp32"):
        EncoderConfig(model_dir=base_model_dir, precision="bf8")


def test_half_precision_asked_for_on_the_cpu_keeps_fp32_weights_and_vectors(
    base_model_dir: Path, encoder: Encoder
) -> None:
    half = Encoder(
        EncoderConfig(model_dir=base_model_dir, device="cpu", runtime="torch", precision="half")
    )
    assert half.precision == "fp32"
    texts = ["Where is my card?", "I was charged twice for the same coffee this morning."]
    np.testing.assert_allclose(half.encode(texts), encoder.encode(texts), atol=1e-6)


def test_fine_tuning_trains_in_fp32_unless_mixed_precision_is_asked_for(tmp_path: Path) -> None:
    assert TrainConfig(base_model_dir=tmp_path).mixed_precision is False
    assert TrainConfig.from_dict(tmp_path, {"mixed_precision": True}).mixed_precision is True
    with pytest.raises(ValueError, match="mixed_precision must be true or false"):
        TrainConfig.from_dict(tmp_path, {"mixed_precision": "bf16"})


def test_disabled_autocast_never_enters_a_cuda_autocast_region() -> None:
    # enabled=False must not even ask CUDA for its bf16 support (CPU-only torch builds).
    with autocast("cuda", enabled=False):
        assert not torch.is_autocast_enabled("cuda")
        assert torch.ones(2).dtype == torch.float32

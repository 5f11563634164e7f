"""load_text_model(quantize_int8=...): the int8 CPU copy a deployment serves by default."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from torch import nn

from ml.training import load_text_model, train_text_model
from tests.ml.test_training_trainer import intent_examples, tiny_config

TEXTS = ["reset password please", "card", "i want a refund", "the weather today"]


@pytest.fixture(scope="module")
def artifact(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("int8")
    config = tiny_config(tiny_model_dir, epochs=3, seed=1)
    return train_text_model(config, intent_examples(90, seed=0), out / "model").artifact_dir


def _float_linears(model) -> int:
    return sum(1 for m in model.classifier.modules() if type(m) is nn.Linear)


def test_int8_copy_has_no_float_linear_layers_and_keeps_the_answers(artifact: Path) -> None:
    fp32 = load_text_model(artifact, "cpu", quantize_int8=False)
    int8 = load_text_model(artifact, "cpu", quantize_int8=True)
    assert _float_linears(fp32) > 0 and _float_linears(int8) == 0
    p32, p8 = fp32.predict_proba(TEXTS), int8.predict_proba(TEXTS)
    assert p8.dtype == np.float32 and p8.shape == p32.shape
    np.testing.assert_allclose(p8.sum(axis=1), 1.0, rtol=1e-5)
    assert (p8.argmax(axis=1) == p32.argmax(axis=1)).all()
    assert not np.array_equal(p8, p32)  # really a different (quantised) computation


def test_auto_quantises_on_cpu_only(artifact: Path) -> None:
    assert _float_linears(load_text_model(artifact, "cpu", quantize_int8=None)) == 0
    assert _float_linears(load_text_model(artifact, "cpu")) > 0  # the default stays fp32


def test_int8_on_a_gpu_is_refused(artifact: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ml.training.model as model_module

    monkeypatch.setattr(model_module, "resolve_device", lambda device: "cuda")
    with pytest.raises(ValueError, match="needs the CPU"):
        load_text_model(artifact, "cuda", quantize_int8=True)

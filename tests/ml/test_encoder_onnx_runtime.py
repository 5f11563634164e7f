"""The encoder's ONNX Runtime path: same vectors as PyTorch, exported once, checked on load."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import ml.embeddings.onnx_runtime as onnx_runtime
from ml.embeddings import Encoder, EncoderConfig
from tests.python_process import ROOT

# Different lengths, so batches pad and the longest-first order has to be undone.
TEXTS = [
    "Where is my card?",
    "I was charged twice for the same coffee this morning, can you refund one of them?",
    "pin",
    "How long does a transfer to another country take?",
    "My card got stuck in the cash machine and the branch is closed until Monday.",
]


@pytest.fixture(scope="module")
def onnx_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_encoder(base_model_dir: Path, onnx_cache: Path) -> Encoder:
    return Encoder(
        EncoderConfig(
            model_dir=base_model_dir, device="cpu", runtime="onnx", onnx_cache_dir=onnx_cache
        )
    )


def test_onnx_vectors_match_pytorch_row_for_row(onnx_encoder: Encoder, encoder: Encoder) -> None:
    assert (onnx_encoder.runtime, encoder.runtime) == ("onnx", "torch")
    for batch_size in (1, 2, 64):
        got = onnx_encoder.encode(TEXTS, batch_size=batch_size)
        expected = encoder.encode(TEXTS)
        assert got.shape == expected.shape and got.dtype == np.float32
        cosines = (got * expected).sum(axis=1)
        assert cosines.min() > 0.9999, cosines
    assert onnx_encoder.encode([]).shape == (0, 384)


def test_the_export_is_made_once_and_reused(
    base_model_dir: Path, onnx_encoder: Encoder, onnx_cache: Path
) -> None:
    [exported] = onnx_cache.glob("*.onnx")
    assert exported.name.startswith(base_model_dir.name)
    written = exported.stat().st_mtime_ns
    again = Encoder(
        EncoderConfig(
            model_dir=base_model_dir, device="cpu", runtime="onnx", onnx_cache_dir=onnx_cache
        )
    )
    assert exported.stat().st_mtime_ns == written
    assert list(onnx_cache.glob("*")) == [exported]  # no temp files left behind
    np.testing.assert_allclose(again.encode(TEXTS[:2]), onnx_encoder.encode(TEXTS[:2]), atol=1e-6)


def test_an_export_that_disagrees_with_pytorch_is_refused(
    base_model_dir: Path, onnx_encoder: Encoder, onnx_cache: Path, monkeypatch
) -> None:
    monkeypatch.setattr(onnx_runtime, "EXPORT_TOLERANCE", -1.0)  # nothing can be that close
    with pytest.raises(onnx_runtime.OnnxExportError, match="ML_ENCODER_RUNTIME=torch"):
        Encoder(
            EncoderConfig(
                model_dir=base_model_dir, device="cpu", runtime="onnx", onnx_cache_dir=onnx_cache
            )
        )


def test_auto_picks_onnx_on_the_cpu_for_fp32_and_int8(base_model_dir: Path) -> None:
    fp32 = Encoder(EncoderConfig(model_dir=base_model_dir, device="cpu"))
    assert fp32.runtime == "onnx" and not fp32.int8
    int8 = Encoder(EncoderConfig(model_dir=base_model_dir, device="cpu", quantize_int8=True))
    assert int8.runtime == "onnx" and int8._onnx.path.name.endswith("-int8.onnx")


@pytest.mark.parametrize(("runtime", "int8"), [("onnx", True), ("torch", False)])
def test_int8_auto_means_int8_exactly_in_onnx_runtime(
    base_model_dir: Path, runtime: str, int8: bool
) -> None:
    config = EncoderConfig(
        model_dir=base_model_dir, device="cpu", runtime=runtime, quantize_int8=None
    )
    assert Encoder(config).int8 is int8


@pytest.fixture
def int8_config(base_model_dir: Path, onnx_cache: Path) -> EncoderConfig:
    return EncoderConfig(
        model_dir=base_model_dir,
        device="cpu",
        runtime="onnx",
        quantize_int8=True,
        onnx_cache_dir=onnx_cache,
    )


def test_int8_onnx_vectors_are_close_to_fp32_and_quantised_once(
    int8_config: EncoderConfig, encoder: Encoder, onnx_cache: Path
) -> None:
    config = int8_config
    int8 = Encoder(config)
    fp32, got = encoder.encode(TEXTS), int8.encode(TEXTS)
    cos = (fp32 * got).sum(axis=1)
    assert cos.min() > 0.97, cos
    assert not np.allclose(fp32, got, atol=1e-4), "int8 output identical to fp32: not quantised"
    written = int8._onnx.path.stat().st_mtime_ns
    again = Encoder(config)
    assert again._onnx.path == int8._onnx.path
    assert again._onnx.path.stat().st_mtime_ns == written
    assert sorted(p.name for p in onnx_cache.iterdir() if "int8" in p.name) == [
        int8._onnx.path.name
    ]


def test_an_int8_copy_too_far_from_fp32_is_refused(
    int8_config: EncoderConfig, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(onnx_runtime, "INT8_MIN_COSINE", 1.01)  # nothing quantised reaches it
    with pytest.raises(onnx_runtime.OnnxExportError, match="ML_ENCODER_INT8=0"):
        Encoder(int8_config)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"runtime": "tensorrt"}, "runtime='tensorrt' must be one of auto, torch, onnx"),
        ({"precision": "int4"}, "precision='int4' must be one of auto, fp32, autocast, half"),
        ({"quantize_int8": "auto"}, "quantize_int8='auto' must be True, False or None"),
    ],
)
def test_invalid_runtime_settings_are_refused(base_model_dir: Path, fields, message) -> None:
    with pytest.raises(ValueError, match=message):
        EncoderConfig(model_dir=base_model_dir, **fields)


# Waits until a shared start time after its imports, so the processes quantise at once.
QUANTISE_AT_ONCE = """
import sys, time
from pathlib import Path
from ml.embeddings import Encoder, EncoderConfig, default_base_model_dir
start_at, cache = float(sys.argv[1]), Path(sys.argv[2])
while time.time() < start_at:
    time.sleep(0.005)
config = EncoderConfig(
    model_dir=default_base_model_dir(), device="cpu", runtime="onnx", quantize_int8=True,
    onnx_cache_dir=cache,
)
print(Encoder(config)._onnx.path.name)
"""


def test_processes_starting_together_share_one_int8_copy(
    onnx_encoder: Encoder, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy2(onnx_encoder._onnx.path, cache / onnx_encoder._onnx.path.name)
    start_at = time.time() + 20  # after every process has imported torch and transformers
    processes = [
        subprocess.Popen(  # noqa: S603
            [sys.executable, "-c", QUANTISE_AT_ONCE, str(start_at), str(cache)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=300) for p in processes]
    for process, (_, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err[-3000:]
    names = {out.strip().splitlines()[-1] for out, _ in results}
    assert len(names) == 1 and next(iter(names)).endswith("-int8.onnx")
    assert {p.name for p in cache.iterdir()} == {onnx_encoder._onnx.path.name, *names}
    # (nothing else: no temp files or folders left behind)

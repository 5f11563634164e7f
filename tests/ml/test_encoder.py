"""Encoder: output contract, semantic sanity, model-dir validation, plain HF dirs, int8."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, BertConfig, BertModel

import ml.embeddings.encoder as encoder_module
from ml.embeddings import Encoder, EncoderConfig, ModelDirError
from ml.quantize import quantize_dynamic_int8

TEXTS = [
    "How do I reset my password?",
    "I forgot my login password and need to change it.",
    "The quarterly revenue grew twelve percent.",
    "My refund for order 4471 has not arrived yet.",
    "Where is my parcel?",
]


def test_encode_returns_unit_float32_rows(encoder: Encoder) -> None:
    out = encoder.encode(TEXTS)
    assert out.shape == (len(TEXTS), encoder.dim) == (5, 384)
    assert out.dtype == np.float32
    assert out.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert encoder.device == "cpu"
    assert encoder.model_dir.is_dir()


def test_empty_input_keeps_dim(encoder: Encoder) -> None:
    out = encoder.encode([])
    assert out.shape == (0, encoder.dim)
    assert out.dtype == np.float32


def test_batch_size_does_not_change_embeddings(encoder: Encoder) -> None:
    np.testing.assert_allclose(
        encoder.encode(TEXTS, batch_size=1), encoder.encode(TEXTS, batch_size=64), atol=1e-5
    )


def test_single_string_is_rejected(encoder: Encoder) -> None:
    with pytest.raises(TypeError, match="wrap a single text"):
        encoder.encode("just one text")  # type: ignore[arg-type]


def test_paraphrases_score_higher_than_unrelated(encoder: Encoder) -> None:
    a, b, c, d, _ = encoder.encode(TEXTS)
    paraphrase = float(a @ b)
    assert paraphrase > 0.6
    assert paraphrase > float(a @ c) + 0.3
    assert paraphrase > float(a @ d) + 0.3


def test_missing_dir_names_env_var(tmp_path: Path) -> None:
    missing = tmp_path / "nope"
    with pytest.raises(ModelDirError, match=r"ML_BASE_MODEL=.*nope"):
        Encoder(EncoderConfig(model_dir=missing, device="cpu"))


def test_dir_without_config_names_env_var(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not a model")
    with pytest.raises(ModelDirError, match=r"ML_BASE_MODEL=.* has no config\.json"):
        Encoder(EncoderConfig(model_dir=tmp_path, device="cpu"))


def test_dir_without_weights_is_a_model_dir_error(tmp_path: Path, base_model_dir: Path) -> None:
    shutil.copy(base_model_dir / "config.json", tmp_path / "config.json")
    with pytest.raises(ModelDirError, match="ML_BASE_MODEL="):
        Encoder(EncoderConfig(model_dir=tmp_path, device="cpu"))


@pytest.fixture(scope="module")
def plain_hf_dir(tmp_path_factory: pytest.TempPathFactory, base_model_dir: Path) -> Path:
    """A random tiny BertModel saved in plain Hugging Face format (no modules.json)."""
    path = tmp_path_factory.mktemp("plain-bert")
    tokenizer = AutoTokenizer.from_pretrained(str(base_model_dir), local_files_only=True)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        BertModel(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    assert not (path / "modules.json").exists()
    return path


def test_plain_hf_dir_uses_normalised_mean_pooling(plain_hf_dir: Path) -> None:
    enc = Encoder(EncoderConfig(model_dir=plain_hf_dir, device="cpu"))
    assert enc.dim == 32
    out = enc.encode(TEXTS[:3])
    assert out.shape == (3, 32) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)

    tokenizer = AutoTokenizer.from_pretrained(str(plain_hf_dir), local_files_only=True)
    model = BertModel.from_pretrained(str(plain_hf_dir), local_files_only=True).eval()
    batch = tokenizer(TEXTS[:3], padding=True, truncation=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    mean = (hidden * mask).sum(1) / mask.sum(1)
    expected = torch.nn.functional.normalize(mean, dim=1).numpy()
    np.testing.assert_allclose(out, expected, atol=1e-4)


def test_max_seq_length_is_capped_by_position_table(encoder: Encoder, plain_hf_dir: Path) -> None:
    assert encoder.max_seq_length == 256  # MiniLM's sentence_bert_config.json
    big = Encoder(EncoderConfig(model_dir=plain_hf_dir, device="cpu", max_seq_length=100_000))
    assert big.max_seq_length == 512  # BertConfig.max_position_embeddings
    assert big.encode(["word " * 3000]).shape == (1, 32)


@pytest.fixture(scope="module")
def int8_encoder(base_model_dir: Path) -> Encoder:
    return Encoder(
        EncoderConfig(model_dir=base_model_dir, device="cpu", runtime="torch", quantize_int8=True)
    )


def test_int8_encoder_is_quantised_and_close_to_fp32(
    encoder: Encoder, int8_encoder: Encoder
) -> None:
    model = int8_encoder._model
    assert not any(type(m) is torch.nn.Linear for m in model.modules())
    assert any("quantized" in type(m).__module__ for m in model.modules())
    fp32 = encoder.encode(TEXTS)
    int8 = int8_encoder.encode(TEXTS)
    assert int8.dtype == np.float32 and int8.shape == fp32.shape
    cos = (fp32 * int8).sum(axis=1)
    assert cos.min() > 0.9, cos
    assert not np.allclose(fp32, int8, atol=1e-4), "int8 output identical to fp32: not quantised"


def test_int8_on_cuda_is_refused(monkeypatch: pytest.MonkeyPatch, base_model_dir: Path) -> None:
    monkeypatch.setattr(encoder_module, "resolve_device", lambda requested: "cuda")
    with pytest.raises(ValueError, match="quantize_int8=True needs the CPU"):
        Encoder(EncoderConfig(model_dir=base_model_dir, device="cuda", quantize_int8=True))


def test_quantize_dynamic_int8_swaps_linear_layers() -> None:
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 8))
    x = torch.randn(4, 16)
    with torch.inference_mode():
        before = net(x)
    out = quantize_dynamic_int8(net)
    assert out is net
    assert not any(type(m) is torch.nn.Linear for m in net.modules())
    with torch.inference_mode():
        after = net(x)
    torch.testing.assert_close(after, before, atol=0.05, rtol=0.05)


def test_quantize_dynamic_int8_rejects_modules_without_linear() -> None:
    with pytest.raises(ValueError, match="no nn.Linear"):
        quantize_dynamic_int8(torch.nn.Sequential(torch.nn.ReLU()))

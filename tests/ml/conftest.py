"""Fixtures for the framework-free ML core: the shipped MiniLM, loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ml.embeddings import Encoder, EncoderConfig, default_base_model_dir  # noqa: E402


@pytest.fixture(scope="session")
def base_model_dir() -> Path:
    return default_base_model_dir()


@pytest.fixture(scope="session")
def encoder(base_model_dir: Path) -> Encoder:
    """fp32 MiniLM on CPU in PyTorch: tests must not depend on whether the runner has a GPU."""
    return Encoder(EncoderConfig(model_dir=base_model_dir, device="cpu", runtime="torch"))

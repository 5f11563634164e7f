"""`restore_best_epoch=False`: the artifact holds the last epoch's weights (a plain fine-tune)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.training import load_text_model, train_text_model
from ml.training.data import stratified_split
from tests.ml.test_training_trainer import intent_examples, tiny_config


def _validation_loss(artifact: Path, validation: list, labels: list[str]) -> float:
    probs = load_text_model(artifact).predict_proba([e.text for e in validation])
    targets = [labels.index(e.label) for e in validation]
    return float(-np.mean(np.log(probs[np.arange(len(targets)), targets])))


@pytest.mark.parametrize("restore", [True, False])
def test_saved_epoch_follows_restore_best_epoch(
    tiny_model_dir: Path, tmp_path: Path, restore: bool
) -> None:
    """Macro-F1 peaks early on this easy task while the loss keeps falling: with patience off,
    the best-metric epoch is not the last one, so the two settings save different weights."""
    examples = intent_examples(150, seed=0)
    config = tiny_config(
        tiny_model_dir, epochs=6, early_stopping_patience=0, restore_best_epoch=restore
    )
    result = train_text_model(config, examples, tmp_path / "run")
    history = result.metrics["history"]
    assert result.epochs_run == 6 and len(history) == 6
    _train, validation = stratified_split(examples, 0.1, seed=7)
    loss = _validation_loss(result.artifact_dir, validation, result.labels)
    best = next(h for h in history if h["macro_f1"] == max(x["macro_f1"] for x in history))
    assert best["epoch"] < 6  # the premise: the best epoch is not the last
    if restore:
        assert result.best_epoch == best["epoch"]
        assert loss == pytest.approx(history[best["epoch"] - 1]["val_loss"], rel=1e-4)
    else:
        assert result.best_epoch == 6
        assert result.metrics["val_loss"] == pytest.approx(history[-1]["val_loss"])
        assert loss == pytest.approx(history[-1]["val_loss"], rel=1e-4)

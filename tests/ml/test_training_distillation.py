"""Distillation: a student trained on a teacher's probabilities follows the teacher."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from ml.training import load_text_model, train_text_model
from ml.training.loop import distillation_loss
from tests.ml.test_training_trainer import intent_examples, tiny_config

LABELS = ["card", "password", "refund"]
# The teacher swaps "card" and "refund": learnable only from the teacher, never from the labels.
SWAP = {"card": "refund", "password": "password", "refund": "card"}


def test_loss_is_zero_when_student_matches_teacher_and_grows_with_disagreement() -> None:
    teacher = torch.tensor([[0.7, 0.2, 0.1]])
    matching = torch.log(teacher)  # logits whose softmax is the teacher
    assert float(distillation_loss(matching, teacher, temperature=2.0)) == pytest.approx(
        0, abs=1e-6
    )
    near = float(distillation_loss(torch.tensor([[1.0, 0.0, 0.0]]), teacher, 2.0))
    far = float(distillation_loss(torch.tensor([[0.0, 0.0, 3.0]]), teacher, 2.0))
    assert 0 < near < far


def _teacher(examples: list, labels_of: dict[str, str]) -> np.ndarray:
    probs = np.full((len(examples), len(LABELS)), 0.05, dtype=np.float32)
    for row, example in enumerate(examples):
        probs[row, LABELS.index(labels_of[example.label])] = 0.9
    return probs


def test_student_follows_the_teacher_over_the_labels(tiny_model_dir: Path, tmp_path: Path) -> None:
    train, validation = intent_examples(150, seed=0), intent_examples(30, seed=1)
    config = tiny_config(
        tiny_model_dir, labels=LABELS, distillation_weight=1.0, distillation_temperature=1.0
    )
    result = train_text_model(
        config,
        train,
        tmp_path / "student",
        validation=validation,
        teacher_probabilities=_teacher(train, SWAP),
    )
    fresh = intent_examples(60, seed=9)
    predicted = [
        label for label, _ in load_text_model(result.artifact_dir).predict([e.text for e in fresh])
    ]
    follows_teacher = np.mean([p == SWAP[e.label] for p, e in zip(predicted, fresh, strict=True)])
    assert follows_teacher >= 0.9


@pytest.mark.parametrize(
    ("labels", "validation", "teacher", "needle"),
    [
        (LABELS, None, np.full((30, 3), 1 / 3), "explicit validation set"),
        (None, "given", np.full((30, 3), 1 / 3), "config.labels"),
        (LABELS, "given", np.full((29, 3), 1 / 3), "shape"),
        (LABELS, "given", np.full((30, 3), 0.5), "sum to 1"),
    ],
)
def test_bad_teacher_fails_before_training(
    tiny_model_dir: Path, tmp_path: Path, labels, validation, teacher, needle: str
) -> None:
    val = intent_examples(15, seed=1) if validation else None
    with pytest.raises(ValueError, match=needle):
        train_text_model(
            tiny_config(tiny_model_dir, labels=labels),
            intent_examples(30, seed=0),
            tmp_path / "x",
            validation=val,
            teacher_probabilities=teacher,
        )
    assert not (tmp_path / "x").exists()

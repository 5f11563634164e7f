"""Validation metrics against hand-computed values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml.training import compute_metrics


def _probs(predicted: list[int], num_labels: int) -> np.ndarray:
    probs = np.full((len(predicted), num_labels), 0.1, dtype=np.float32)
    probs[np.arange(len(predicted)), predicted] = 0.8
    return probs


def test_classification_metrics_match_hand_computation() -> None:
    labels = ["a", "b", "c"]
    metrics = compute_metrics([0, 0, 1, 1, 2], _probs([0, 1, 1, 1, 2], 3), labels, "classification")
    assert metrics["accuracy"] == pytest.approx(0.8)
    assert metrics["macro_f1"] == pytest.approx((2 / 3 + 0.8 + 1.0) / 3)
    assert metrics["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [0, 0, 1]]
    assert metrics["per_class"]["b"] == pytest.approx(
        {"precision": 2 / 3, "recall": 1.0, "f1": 0.8, "support": 2}
    )
    assert metrics["per_class"]["a"]["recall"] == pytest.approx(0.5)
    assert metrics["labels"] == labels
    assert "roc_auc" not in metrics
    assert json.loads(json.dumps(metrics)) == metrics


def test_macro_f1_ignores_labels_absent_from_truth_and_predictions() -> None:
    metrics = compute_metrics([0, 1, 1], _probs([0, 1, 1], 3), ["a", "b", "c"], "classification")
    assert metrics["macro_f1"] == pytest.approx(1.0)
    assert metrics["per_class"]["c"]["support"] == 0


def test_pair_metrics_include_roc_auc_of_highest_label() -> None:
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.6, 0.4], [0.1, 0.9]], dtype=np.float32)
    metrics = compute_metrics([0, 0, 1, 1], probs, ["0", "1"], "pair")
    assert metrics["roc_auc"] == pytest.approx(0.75)
    assert metrics["accuracy"] == pytest.approx(0.5)


def test_pair_metrics_skip_roc_auc_with_one_class() -> None:
    probs = np.array([[0.2, 0.8], [0.3, 0.7]], dtype=np.float32)
    assert "roc_auc" not in compute_metrics([1, 1], probs, ["0", "1"], "pair")


def test_shape_mismatch_is_an_error() -> None:
    with pytest.raises(ValueError, match="does not match 3 examples x 2 labels"):
        compute_metrics([0, 1, 1], np.zeros((2, 2)), ["0", "1"], "pair")

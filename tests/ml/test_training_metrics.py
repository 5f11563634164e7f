"""Validation metrics against hand-computed values."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ml.training import compute_metrics
from ml.training.metrics import mrr, ndcg_at_k, recall_at_k


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


def test_pair_roc_auc_scores_the_given_positive_label() -> None:
    # Labels in the order ["yes", "no"]: "yes" (column 0) is the positive one.
    probs = np.array([[0.9, 0.1], [0.6, 0.4], [0.4, 0.6], [0.1, 0.9]], dtype=np.float32)
    truth = [0, 1, 0, 1]  # yes, no, yes, no
    metrics = compute_metrics(truth, probs, ["yes", "no"], "pair", positive_label="yes")
    # positives (yes) score 0.9, 0.4; negatives 0.6, 0.1: 3 of 4 pairs ordered right.
    assert metrics["roc_auc"] == pytest.approx(0.75)
    last_label = compute_metrics(truth, probs, ["yes", "no"], "pair")
    assert last_label["roc_auc"] == pytest.approx(0.75)  # "no" vs rest, its own column
    assert compute_metrics(truth, probs[:, ::-1], ["yes", "no"], "pair", positive_label="yes")[
        "roc_auc"
    ] == pytest.approx(0.25)


# -- ranking: hand-computed values ------------------------------------------------------------


def test_ndcg_matches_hand_computation() -> None:
    scores, relevance = [0.9, 0.8, 0.7, 0.6], [0, 2, 1, 0]
    dcg = 0 + 2 / np.log2(3) + 1 / np.log2(4)
    ideal = 2 / 1 + 1 / np.log2(3) + 0
    assert ndcg_at_k(scores, relevance, 3) == pytest.approx(dcg / ideal)
    assert ndcg_at_k(scores, relevance, 1) == pytest.approx(0.0)
    assert ndcg_at_k([0.1, 0.9, 0.5], [0, 2, 1], 3) == pytest.approx(1.0)  # ideal order


def test_recall_at_k_matches_hand_computation() -> None:
    scores, relevance = [0.9, 0.8, 0.7, 0.6], [0, 1, 1, 0]
    assert recall_at_k(scores, relevance, 1) == 0.0
    assert recall_at_k(scores, relevance, 2) == pytest.approx(0.5)
    assert recall_at_k(scores, relevance, 3) == pytest.approx(1.0)
    # A retriever's top-2 that missed one of the query's 2 relevant items.
    assert recall_at_k([0.9, 0.1], [0, 1], 2, n_relevant=2) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="n_relevant=0 is less than"):
        recall_at_k([0.9, 0.1], [0, 1], 2, n_relevant=0)


def test_mrr_matches_hand_computation() -> None:
    assert mrr([0.9, 0.8, 0.7], [0, 0, 1]) == pytest.approx(1 / 3)
    assert mrr([0.9, 0.8, 0.7], [1, 0, 1]) == pytest.approx(1.0)
    assert np.mean([mrr([0.2, 0.9], [1, 0]), mrr([0.9, 0.2], [1, 0])]) == pytest.approx(0.75)
    assert mrr([0.9, 0.8], [0, 0], n_relevant=1) == 0.0  # relevant item not retrieved


def test_ties_are_broken_against_the_model() -> None:
    # The relevant item shares its score with an irrelevant one: it ranks second.
    assert mrr([0.5, 0.5, 0.1], [1, 0, 0]) == pytest.approx(0.5)
    assert recall_at_k([0.5, 0.5, 0.1], [1, 0, 0], 1) == 0.0
    assert ndcg_at_k([0.5, 0.5, 0.1], [1, 0, 0], 2) == pytest.approx(1 / np.log2(3))
    # Input order does not matter: the same holds with the relevant item listed last.
    assert mrr([0.5, 0.1, 0.5], [0, 0, 1]) == pytest.approx(0.5)


def test_no_relevant_item_or_empty_input_is_undefined() -> None:
    for metric in (
        lambda s, r: ndcg_at_k(s, r, 5),
        lambda s, r: recall_at_k(s, r, 5),
        mrr,
    ):
        assert np.isnan(metric([0.3, 0.2], [0, 0]))
        assert np.isnan(metric([], []))


def test_k_larger_than_the_list_counts_the_whole_list() -> None:
    assert recall_at_k([0.3, 0.2], [0, 1], 10) == pytest.approx(1.0)
    assert ndcg_at_k([0.3, 0.2], [0, 1], 10) == pytest.approx(1 / np.log2(3))


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: ndcg_at_k([0.1], [1], 0), "k=0 must be an integer >= 1"),
        (lambda: recall_at_k([0.1, 0.2], [1], 1), "2 scores but 1 relevance values"),
        (lambda: mrr([float("nan")], [1]), "must not be NaN"),
        (lambda: mrr([0.1], [-1]), "relevance must be >= 0"),
    ],
)
def test_bad_ranking_input_is_an_error(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()

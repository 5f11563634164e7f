"""Validation metrics as a JSON-serialisable dict (stored in metrics.json and the registry row)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
    roc_auc_score,
)


def compute_metrics(
    y_true: Sequence[int], probabilities: np.ndarray, labels: Sequence[str], task_type: str
) -> dict[str, Any]:
    """accuracy, macro_f1, per-class report, confusion matrix (+ roc_auc for pair tasks).

    macro_f1 averages over the labels that occur in y_true or the predictions (scikit-learn's
    default), so a label absent from a small validation set doesn't count as f1=0.
    For pair tasks, roc_auc scores "highest label vs the rest" with that label's probability and
    is only present when the validation set has both positives and negatives.
    """
    probs = np.asarray(probabilities, dtype=np.float64)
    if probs.ndim != 2 or probs.shape != (len(y_true), len(labels)):
        raise ValueError(
            f"probabilities shape {probs.shape} does not match {len(y_true)} examples x "
            f"{len(labels)} labels"
        )
    if len(y_true) == 0:
        raise ValueError("cannot compute metrics on an empty validation set")
    truth = np.asarray(y_true, dtype=np.int64)
    predicted = probs.argmax(axis=1)
    all_ids = list(range(len(labels)))
    present = sorted(set(truth.tolist()) | set(predicted.tolist()))
    precision, recall, f1, support = precision_recall_fscore_support(
        truth, predicted, labels=all_ids, zero_division=0
    )
    metrics: dict[str, Any] = {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(
            f1_score(truth, predicted, labels=present, average="macro", zero_division=0)
        ),
        "per_class": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion_matrix": confusion_matrix(truth, predicted, labels=all_ids).tolist(),
        "labels": list(labels),
    }
    if task_type == "pair":
        positive = truth == len(labels) - 1
        if positive.any() and not positive.all():
            metrics["roc_auc"] = float(roc_auc_score(positive, probs[:, -1]))
    return metrics

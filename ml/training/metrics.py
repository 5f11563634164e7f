"""Validation metrics: classification / pair reports (JSON-serialisable, stored in metrics.json
and the registry row) and per-query ranking metrics (NDCG@k, Recall@k, MRR).

Score calibration, ECE, AUROC and threshold choice live in ml.training.calibration.
"""

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

from ml.training.kinds import TaskKind


def compute_metrics(
    y_true: Sequence[int],
    probabilities: np.ndarray,
    labels: Sequence[str],
    task_type: TaskKind | str,
    *,
    positive_label: str | None = None,
) -> dict[str, Any]:
    """accuracy, macro_f1, per-class report, confusion matrix (+ roc_auc for pair tasks).

    macro_f1 averages over the labels that occur in y_true or the predictions (scikit-learn's
    default), so a label absent from a small validation set doesn't count as f1=0.
    For pair tasks, roc_auc scores "positive label vs the rest" with that label's probability
    (`positive_label`, default the last label) and is only present when the validation set has
    both positives and negatives.
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
    if TaskKind(task_type).takes_pairs:
        column = list(labels).index(positive_label) if positive_label else len(labels) - 1
        positive = truth == column
        if positive.any() and not positive.all():
            metrics["roc_auc"] = float(roc_auc_score(positive, probs[:, column]))
    return metrics


# -- ranking ----------------------------------------------------------------------------------
# One query at a time: `scores` of its candidates (higher ranks first) and their `relevance`
# (0 = irrelevant; graded values allowed for NDCG). Shared rules:
# - Ties are broken pessimistically: among equal scores the less relevant candidate ranks
#   first, so a model that cannot tell items apart gets no credit for the input's order.
# - A query with no relevant item has nothing to find: the metric is undefined and returns NaN
#   (as trec_eval skips such queries); average with np.nanmean. Empty input is such a query.
# - k larger than the list counts the whole list; k < 1 is a ValueError.


def _ranked_relevance(scores: Sequence[float], relevance: Sequence[float]) -> np.ndarray:
    """Relevance in ranked order (scores descending, ties pessimistic)."""
    score_arr = np.asarray(scores, dtype=np.float64).reshape(-1)
    rel = np.asarray(relevance, dtype=np.float64).reshape(-1)
    if score_arr.shape != rel.shape:
        raise ValueError(f"{len(score_arr)} scores but {len(rel)} relevance values")
    if np.isnan(score_arr).any() or (rel < 0).any():
        raise ValueError("scores must not be NaN and relevance must be >= 0")
    # lexsort's last key is the primary one: score descending, then relevance ascending.
    return rel[np.lexsort((rel, -score_arr))]


def _check_k(k: int) -> None:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r} must be an integer >= 1")


def ndcg_at_k(scores: Sequence[float], relevance: Sequence[float], k: int) -> float:
    """Normalised discounted cumulative gain of the top k, linear gains rel / log2(rank + 1).

    1.0 when the top k are the k most relevant candidates in order; NaN without relevant items.
    """
    _check_k(k)
    ranked = _ranked_relevance(scores, relevance)
    if not (ranked > 0).any():
        return float("nan")
    discounts = 1.0 / np.log2(np.arange(2, min(k, len(ranked)) + 2))
    dcg = float((ranked[:k] * discounts).sum())
    ideal = float((np.sort(ranked)[::-1][:k] * discounts).sum())
    return dcg / ideal


def recall_at_k(
    scores: Sequence[float], relevance: Sequence[float], k: int, *, n_relevant: int | None = None
) -> float:
    """Share of the query's relevant items found in the top k.

    `n_relevant`: how many relevant items the query has in all, when the candidate list may
    have missed some (a retriever's top-N); they count as not found. Default: those in the list.
    """
    _check_k(k)
    ranked = _ranked_relevance(scores, relevance)
    in_list = int((ranked > 0).sum())
    total = in_list if n_relevant is None else n_relevant
    if total < in_list:
        raise ValueError(f"n_relevant={n_relevant} is less than the {in_list} relevant listed")
    if total == 0:
        return float("nan")
    return float((ranked[:k] > 0).sum()) / total


def mrr(
    scores: Sequence[float], relevance: Sequence[float], *, n_relevant: int | None = None
) -> float:
    """Reciprocal rank of the first relevant candidate (1-based); 0.0 when the list has none
    but the query does (`n_relevant` > 0), NaN when the query has no relevant item at all.

    Averaged over queries this is the mean reciprocal rank.
    """
    ranked = _ranked_relevance(scores, relevance)
    hits = np.flatnonzero(ranked > 0)
    if len(hits):
        return 1.0 / float(hits[0] + 1)
    return 0.0 if n_relevant else float("nan")

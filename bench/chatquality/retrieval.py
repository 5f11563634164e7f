"""The knowledge base of the chat quality benchmark and retrieval over it: one entry per
intent, questions ranked by `apps.chat.answering.rank_entries`, calibration constants fitted on
validation, and ranking metrics from `ml.training.metrics`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from apps.chat.answering import combine_scores, rank_entries
from bench.chatquality.config import RETRIEVAL_K, TEMPERATURE_GRID, WEIGHT_GRID
from ml.training.calibration import expected_calibration_error, mean_nll
from ml.training.metrics import mrr, recall_at_k


class KnowledgeBase:
    """One entry per intent (entry id = position + 1), phrasings indexed in a VectorIndex."""

    def __init__(self, labels: Sequence[str], phrasing_labels: Sequence[str], vectors: np.ndarray):
        from ml.index import IndexConfig, VectorIndex

        self.labels = list(labels)
        self.entry_of_label = {label: i + 1 for i, label in enumerate(self.labels)}
        self.phrasing_entry = np.array(
            [self.entry_of_label[label] for label in phrasing_labels], dtype=np.int64
        )
        self.index = VectorIndex(IndexConfig(dim=vectors.shape[1]))
        self.index.upsert(np.arange(len(phrasing_labels), dtype=np.int64), vectors)

    @property
    def n_entries(self) -> int:
        return len(self.labels)

    def hits(self, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(entry ids, cosines) of the top RETRIEVAL_K phrasings, (Q, K); id 0 = no hit."""
        scores, ids = self.index.search(queries, min(RETRIEVAL_K, len(self.index)))
        entries = np.where(ids >= 0, self.phrasing_entry[np.maximum(ids, 0)], 0)
        return entries, scores


class Questions:
    """Questions with their retrieval hits and (optional) classifier output, KB-aligned."""

    def __init__(
        self,
        kb: KnowledgeBase,
        hit_entries: np.ndarray,
        hit_scores: np.ndarray,
        class_probs: np.ndarray | None,
        class_labels: Sequence[str] | None,
        true_labels: Sequence[str],
    ) -> None:
        self.kb = kb
        self.hit_entries, self.hit_scores = hit_entries, hit_scores
        self.truth = np.array([kb.entry_of_label.get(label, 0) for label in true_labels])
        self.entry_probs: np.ndarray | None = None
        if class_probs is not None and class_labels is not None:
            # Column j holds P(intent of entry j + 1); intents without an entry are dropped.
            cols = [list(class_labels).index(label) for label in kb.labels]
            self.entry_probs = class_probs[:, cols]

    def __len__(self) -> int:
        return len(self.truth)

    def service_probabilities(self, row: int) -> dict[int, float] | None:
        """What the chat service passes: P for each hit entry plus the classifier's top entry."""
        if self.entry_probs is None:
            return None
        probs = self.entry_probs[row]
        entries = {int(e) for e in self.hit_entries[row] if e > 0}
        entries.add(int(probs.argmax()) + 1)
        return {e: float(probs[e - 1]) for e in entries}

    def matrices(self, *, with_classifier: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """(similarities, probabilities), (Q, E), exactly as rank_entries builds one row."""
        q, e = len(self), self.kb.n_entries
        sims = np.full((q, e), -np.inf)
        valid = self.hit_entries > 0
        rows = np.repeat(np.arange(q), self.hit_entries.shape[1]).reshape(self.hit_entries.shape)
        np.maximum.at(sims, (rows[valid], self.hit_entries[valid] - 1), self.hit_scores[valid])
        if not with_classifier or self.entry_probs is None:
            return sims, None
        floor = np.where(valid, self.hit_scores, np.inf).min(axis=1)
        top = self.entry_probs.argmax(axis=1)
        missing = ~np.isfinite(sims[np.arange(q), top]) & np.isfinite(floor)
        sims[np.arange(q)[missing], top[missing]] = floor[missing]
        probs = np.where(np.isfinite(sims), self.entry_probs, 0.0)
        return sims, probs

    def rank(self, row: int, *, with_classifier: bool, top_n: int, **constants: float) -> list:
        valid = self.hit_entries[row] > 0
        return rank_entries(
            hit_entry_ids=self.hit_entries[row][valid].tolist(),
            hit_scores=self.hit_scores[row][valid].tolist(),
            intent_probabilities=self.service_probabilities(row) if with_classifier else None,
            top_n=top_n,
            **constants,
        )


def nll(scores: np.ndarray, truth: np.ndarray) -> float:
    """Mean -log score of the correct entry (floored); truth 0 (no entry) rows are skipped."""
    keep = truth > 0
    return mean_nll(scores[keep], truth[keep] - 1)


def fit_constants(questions: Questions, *, with_classifier: bool) -> dict[str, Any]:
    """Temperature (and classifier weight) minimising validation NLL of the correct entry."""
    sims, probs = questions.matrices(with_classifier=with_classifier)
    weights = WEIGHT_GRID if with_classifier else np.array([0.0])
    grid: list[tuple[float, float, float]] = []
    for temperature in TEMPERATURE_GRID:
        for weight in weights:
            scores = combine_scores(
                sims, probs, temperature=float(temperature), classifier_weight=float(weight)
            )
            grid.append((nll(scores, questions.truth), float(temperature), float(weight)))
    best_nll, temperature, weight = min(grid)
    constants = {"temperature": round(temperature, 5)}
    if with_classifier:
        constants["classifier_weight"] = weight
    scores = combine_scores(sims, probs, **constants)
    top1 = float((scores.argmax(axis=1) + 1 == questions.truth).mean())
    return {"constants": constants, "val_nll": best_nll, "val_recall_at_1": top1}


def pooling_study(questions: Questions) -> dict[str, dict[str, float]]:
    """Validation evidence for the log-linear pool of `combine_scores` vs a linear mixture."""
    sims, probs = questions.matrices(with_classifier=True)
    assert probs is not None
    retrieval = {t: combine_scores(sims, None, temperature=float(t)) for t in TEMPERATURE_GRID}
    out: dict[str, dict[str, float]] = {}
    pools: dict[str, Any] = {
        "linear": lambda t, w: (1 - w) * retrieval[t] + w * probs,
        "log_linear": lambda t, w: combine_scores(
            sims, probs, temperature=float(t), classifier_weight=float(w)
        ),
    }
    for name, pool in pools.items():
        best = min(
            (nll(pool(t, w), questions.truth), float(t), float(w))
            for t in TEMPERATURE_GRID
            for w in WEIGHT_GRID
        )
        scores = pool(best[1], best[2])
        out[name] = {
            "val_nll": best[0],
            "val_recall_at_1": float((scores.argmax(axis=1) + 1 == questions.truth).mean()),
            "temperature": best[1],
            "classifier_weight": best[2],
        }
    return out


def aggregation_study(questions: Questions) -> dict[str, dict[str, float]]:
    """Validation evidence for max-over-phrasings vs alternatives (dense only, own temperature)."""
    q, k = questions.hit_entries.shape
    e = questions.kb.n_entries
    variants: dict[str, np.ndarray] = {}
    first = np.full((q, e), -np.inf)
    second = np.full((q, e), -np.inf)
    count = np.zeros((q, e))
    soft = np.zeros((q, e))
    for row in range(q):
        for col in range(k):  # hits come best first, so the first sighting is the max
            entry = questions.hit_entries[row, col] - 1
            if entry < 0:
                continue
            score = questions.hit_scores[row, col]
            if count[row, entry] == 0:
                first[row, entry] = score
            elif count[row, entry] == 1:
                second[row, entry] = score
            count[row, entry] += 1
            soft[row, entry] += np.exp(score / 0.05)
    variants["max"] = first
    variants["mean_top2"] = np.where(np.isfinite(second), (first + second) / 2, first)
    with np.errstate(divide="ignore"):
        variants["logsumexp_t0.05"] = np.where(soft > 0, 0.05 * np.log(soft), -np.inf)
    out: dict[str, dict[str, float]] = {}
    for name, sims in variants.items():
        best = min(
            (nll(combine_scores(sims, None, temperature=float(t)), questions.truth), float(t))
            for t in TEMPERATURE_GRID
        )
        scores = combine_scores(sims, None, temperature=best[1])
        out[name] = {
            "val_recall_at_1": float((scores.argmax(axis=1) + 1 == questions.truth).mean()),
            "val_nll": best[0],
            "temperature": best[1],
        }
    return out


def ranking_metrics(
    questions: Questions, *, with_classifier: bool, constants: dict[str, float]
) -> dict[str, float]:
    """recall@1, recall@5, MRR (over the whole candidate list) and ECE of the top score.

    Each question has one right entry; when the ranking misses it, it counts as not found.
    """
    recall_1, recall_5, reciprocal, top_scores, top_right = [], [], [], [], []
    for row in range(len(questions)):
        ranked = questions.rank(
            row, with_classifier=with_classifier, top_n=questions.kb.n_entries, **constants
        )
        truth = int(questions.truth[row])
        scores = [r.score for r in ranked]
        relevant = [int(r.entry_id == truth) for r in ranked]
        recall_1.append(recall_at_k(scores, relevant, 1, n_relevant=1))
        recall_5.append(recall_at_k(scores, relevant, 5, n_relevant=1))
        reciprocal.append(mrr(scores, relevant, n_relevant=1))
        top_scores.append(ranked[0].score if ranked else 0.0)
        top_right.append(bool(ranked) and ranked[0].entry_id == truth)
    return {
        "recall_at_1": float(np.mean(recall_1)),
        "recall_at_5": float(np.mean(recall_5)),
        "mrr": float(np.mean(reciprocal)),
        "ece": expected_calibration_error(np.array(top_scores), np.array(top_right)),
        "mean_confidence": float(np.mean(top_scores)),
    }

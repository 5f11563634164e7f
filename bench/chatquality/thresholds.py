"""Answer / suggest / hand-off thresholds of the chat quality benchmark, chosen on validation
with the generic helpers of `ml.training.calibration`, and the novelty-gate variant."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import numpy as np

from apps.chat.answering import ACTION_ANSWER, ACTION_HANDOFF, ACTION_SUGGEST, Thresholds, decide
from bench.chatquality.config import SUGGEST_BAND, TARGETS
from bench.chatquality.retrieval import Questions
from ml.training.calibration import (
    choose_max_min_margin,
    highest_keeping,
    threshold_candidates,
)


def outcomes(
    questions: Questions, constants: dict[str, float], *, with_classifier: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[list[Any]]]:
    """Per question: top score, top entry correct, correct entry in the top 3, the ranking."""
    conf, top1, top3, rankings = [], [], [], []
    for row in range(len(questions)):
        ranked = questions.rank(row, with_classifier=with_classifier, top_n=3, **constants)
        truth = int(questions.truth[row])
        conf.append(ranked[0].score if ranked else 0.0)
        top1.append(bool(ranked) and ranked[0].entry_id == truth)
        top3.append(any(r.entry_id == truth for r in ranked))
        rankings.append(ranked)
    return np.array(conf), np.array(top1), np.array(top3), rankings


def decided_rates(
    rankings: Sequence[list[Any]], truth: np.ndarray, is_oos: np.ndarray, thresholds: Thresholds
) -> dict[str, Any]:
    """The final numbers through `decide` itself, question by question."""
    counts: dict[str, dict[str, int]] = {"in_scope": defaultdict(int), "oos": defaultdict(int)}
    strict = lenient = handoff_oos = 0
    for ranked, answer_id, oos in zip(rankings, truth, is_oos, strict=True):
        decision = decide(ranked, thresholds)
        counts["oos" if oos else "in_scope"][decision.action] += 1
        if oos:
            handoff_oos += decision.action == ACTION_HANDOFF
            continue
        ids = [r.entry_id for r in decision.ranked]
        right = decision.action == ACTION_ANSWER and ids[0] == answer_id
        strict += right
        lenient += right or (decision.action == ACTION_SUGGEST and answer_id in ids[:3])
    n_oos = int(is_oos.sum())
    n_in = len(truth) - n_oos
    return {
        "oos_recall": handoff_oos / n_oos if n_oos else 0.0,
        "in_scope_accuracy": strict / n_in if n_in else 0.0,
        "in_scope_accuracy_lenient": lenient / n_in if n_in else 0.0,
        "actions": {k: dict(v) for k, v in counts.items()},
    }


def action_rates(
    conf_in: np.ndarray,
    top1_in: np.ndarray,
    top3_in: np.ndarray,
    conf_oos: np.ndarray,
    thresholds: Thresholds,
) -> dict[str, float]:
    """OOS recall (handoff only) and strict / lenient in-scope accuracy under thresholds."""
    answer_in = conf_in >= thresholds.answer
    suggest_in = (conf_in >= thresholds.suggest) & ~answer_in
    strict = answer_in & top1_in
    lenient = strict | (suggest_in & top3_in)
    return {
        "oos_recall": float((conf_oos < thresholds.suggest).mean()) if len(conf_oos) else 0.0,
        "oos_answered": float((conf_oos >= thresholds.answer).mean()) if len(conf_oos) else 0.0,
        "in_scope_accuracy": float(strict.mean()),
        "in_scope_accuracy_lenient": float(lenient.mean()),
        "in_scope_answered": float(answer_in.mean()),
        "in_scope_suggested": float(suggest_in.mean()),
        "in_scope_handoff": float((conf_in < thresholds.suggest).mean()),
        "answer_precision": float(top1_in[answer_in].mean()) if answer_in.any() else 0.0,
    }


def choose_thresholds(
    conf_in: np.ndarray, top1_in: np.ndarray, top3_in: np.ndarray, conf_oos: np.ndarray
) -> tuple[Thresholds, dict[str, Any]]:
    """Pick (answer, suggest) on validation; the policy is spelled out in the returned dict.

    1. suggest: maximise the smaller margin over the two targets, min(OOS recall - 0.80,
       strict in-scope accuracy - 0.92) with answer = suggest (a balanced point that also
       says how far off a missed target is).
    2. answer: raise it above suggest only while strict in-scope accuracy stays within
       SUGGEST_BAND of step 1's value, so the "Did you mean" band catches shaky answers without
       spending the strict accuracy the targets need.
    """
    candidates = threshold_candidates(conf_in, conf_oos)

    def margins(s: float) -> tuple[float, float]:
        rates = action_rates(conf_in, top1_in, top3_in, conf_oos, Thresholds(s, s))
        return (
            rates["oos_recall"] - TARGETS["oos_recall"],
            rates["in_scope_accuracy"] - TARGETS["in_scope_accuracy"],
        )

    suggest, margin = choose_max_min_margin((float(s) for s in candidates), margins)
    base = action_rates(conf_in, top1_in, top3_in, conf_oos, Thresholds(suggest, suggest))

    def keeps_accuracy(a: float) -> bool:
        rates = action_rates(conf_in, top1_in, top3_in, conf_oos, Thresholds(a, suggest))
        return rates["in_scope_accuracy"] >= base["in_scope_accuracy"] - SUGGEST_BAND

    answer = highest_keeping(candidates, keeps_accuracy, start=suggest)
    chosen = Thresholds(answer=answer, suggest=suggest)
    policy = {
        "suggest": "max over s of min(oos_recall - target, strict in-scope accuracy - target)",
        "answer": f"highest a >= suggest keeping strict in-scope accuracy within {SUGGEST_BAND}",
        "val_margin": margin,
    }
    return chosen, policy


class NoveltyScores:
    """How familiar a question looks to the fine-tuned model (higher: more like training).

    `knn_cosine`: cosine to the nearest training question in the fine-tuned model's space.
    `mahalanobis`: minus the smallest Mahalanobis distance to an intent's mean, with one
    shared, slightly shrunk covariance (Lee et al. 2018; Podolskiy et al. 2021 found it the
    strongest unknown-intent signal for fine-tuned transformers).
    """

    SHRINKAGE = 0.05

    def __init__(self, embeddings: np.ndarray, labels: Sequence[str]) -> None:
        self.train = embeddings.astype(np.float32)
        names = sorted(set(labels))
        index = np.array([names.index(label) for label in labels])
        x = embeddings.astype(np.float64)
        self.means = np.stack([x[index == k].mean(axis=0) for k in range(len(names))])
        centred = x - self.means[index]
        cov = centred.T @ centred / len(x)
        cov = (1 - self.SHRINKAGE) * cov + self.SHRINKAGE * np.trace(cov) / len(cov) * np.eye(
            len(cov)
        )
        self.precision = np.linalg.inv(cov)

    def scores(self, embeddings: np.ndarray) -> dict[str, np.ndarray]:
        knn = (embeddings.astype(np.float32) @ self.train.T).max(axis=1)
        x = embeddings.astype(np.float64)
        # (x - m)^T P (x - m) = x P x - 2 x P m + m P m, for every (question, intent)
        xp = x @ self.precision
        distances = (
            (xp * x).sum(axis=1)[:, None]
            - 2 * xp @ self.means.T
            + ((self.means @ self.precision) * self.means).sum(axis=1)[None, :]
        )
        return {"knn_cosine": knn.astype(np.float64), "mahalanobis": -distances.min(axis=1)}


def gate_rates(
    conf_in: np.ndarray,
    top1_in: np.ndarray,
    novelty_in: np.ndarray,
    conf_oos: np.ndarray,
    novelty_oos: np.ndarray,
    gate: dict[str, float],
) -> dict[str, float]:
    """Rates when a novelty gate hands off first, then the combined score answers or not."""
    answer_in = (novelty_in >= gate["novelty"]) & (conf_in >= gate["answer"])
    handoff_oos = (novelty_oos < gate["novelty"]) | (conf_oos < gate["answer"])
    return {
        "oos_recall": float(handoff_oos.mean()) if len(conf_oos) else 0.0,
        "in_scope_accuracy": float((answer_in & top1_in).mean()),
        "in_scope_answered": float(answer_in.mean()),
    }


def choose_gate(
    conf_in: np.ndarray,
    top1_in: np.ndarray,
    novelty_in: np.ndarray,
    conf_oos: np.ndarray,
    novelty_oos: np.ndarray,
) -> tuple[dict[str, float], dict[str, float]]:
    """Both cut-offs on validation: max of min(oos margin, strict accuracy margin)."""
    novelty_grid = np.quantile(np.r_[novelty_in, novelty_oos], np.linspace(0, 0.6, 61))
    answer_grid = np.quantile(np.r_[conf_in, conf_oos], np.linspace(0, 0.6, 61))

    def margins(gate: dict[str, float]) -> tuple[float, float]:
        rates = gate_rates(conf_in, top1_in, novelty_in, conf_oos, novelty_oos, gate)
        return (
            rates["oos_recall"] - TARGETS["oos_recall"],
            rates["in_scope_accuracy"] - TARGETS["in_scope_accuracy"],
        )

    gates = (
        {"novelty": float(n), "answer": float(a)}
        for n, a in itertools.product(novelty_grid, answer_grid)
    )
    gate, margin = choose_max_min_margin(gates, margins)
    rates = gate_rates(conf_in, top1_in, novelty_in, conf_oos, novelty_oos, gate)
    return gate, {**rates, "margin": margin}

"""Turn retrieval hits and intent probabilities into ranked entries and an answer decision.

Framework-free (numpy only) so the Django chat service and `bench/chat_quality.py` share it.

How an entry is scored (numbers from `bench/results/chat_quality.json`, Banking77, fitted on a
stratified 10% validation split of train, never on test):

1. Retrieval score of an entry = max cosine over its phrasings' hits.
   PLACEHOLDER_AGGREGATION
2. Retrieval distribution: softmax over the candidate entries of `cosine / temperature`.
   The temperature is fitted by minimising the validation negative log-likelihood of the
   correct entry. PLACEHOLDER_TEMPERATURE
3. With an intent classifier, the entry score is the linear blend
   `(1 - w) * p_retrieval + w * p_classifier` (a mixture of two distributions, so it stays a
   probability in [0, 1]); `w` is fitted the same way. PLACEHOLDER_WEIGHT
   Entries only the classifier proposed (not among the hits) count with the lowest hit cosine,
   an upper bound of their unknown similarity (the service adds the classifier's top entry).

The top entry's score is the bot's confidence; `decide` compares it with the two thresholds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# Fitted by bench/chat_quality.py on the validation split; see the module docstring.
RETRIEVAL_TEMPERATURE = 0.05  # retrieval alone (no intent model promoted yet)
COMBINED_TEMPERATURE = 0.05  # together with the intent classifier
CLASSIFIER_WEIGHT = 0.5
PROBABILITY_FLOOR = 1e-6
DEFAULT_TOP_N = 5

ACTION_ANSWER = "answer"
ACTION_SUGGEST = "suggest"
ACTION_HANDOFF = "handoff"


@dataclass(frozen=True)
class Thresholds:
    """Confidence cut-offs: >= answer answers, >= suggest offers "Did you mean", else hand off."""

    answer: float
    suggest: float

    def __post_init__(self) -> None:
        if not 0.0 <= self.suggest <= self.answer <= 1.0:
            raise ValueError(
                f"thresholds must satisfy 0 <= suggest ({self.suggest}) <= answer "
                f"({self.answer}) <= 1; lower CHAT_SUGGEST_THRESHOLD or raise "
                "CHAT_ANSWER_THRESHOLD"
            )


@dataclass(frozen=True)
class RankedEntry:
    """One candidate answer with the evidence behind its score."""

    entry_id: int
    score: float  # combined, calibrated confidence in [0, 1]
    retrieval_score: float  # best cosine over the entry's phrasings
    intent_probability: float | None


@dataclass(frozen=True)
class Decision:
    """What the bot does with a question, and the ranking it based that on."""

    action: str  # "answer" | "suggest" | "handoff"
    ranked: list[RankedEntry]  # best first, at most top_n
    confidence: float  # ranked[0].score or 0.0


def combine_scores(
    similarities: np.ndarray,
    classifier_probabilities: np.ndarray | None,
    *,
    temperature: float,
    classifier_weight: float = CLASSIFIER_WEIGHT,
) -> np.ndarray:
    """Entry scores (Q, E) from entry cosines (Q, E) and classifier probabilities (Q, E).

    The vectorised core of `rank_entries`, shared with the benchmark that fits the constants:
    a softmax over each row's candidates of `(1 - w) * cosine / temperature + w * log p`, i.e.
    the normalised product `p_retrieval ** (1 - w) * p_classifier ** w` with
    `p_retrieval = softmax(cosine / temperature)`. A similarity of -inf marks a non-candidate
    (score 0). Without classifier probabilities the score is the retrieval softmax alone.

    Args:
        similarities: best cosine per (question, entry); -inf where the entry is no candidate.
        classifier_probabilities: P(intent of the entry) per (question, entry), or None.
        temperature: softmax temperature over cosines (> 0).
        classifier_weight: w, the classifier's share of the log-linear pool, in [0, 1].

    Returns:
        float64 (Q, E) scores in [0, 1]; a row sums to 1 (0 when it has no candidate).
    """
    if temperature <= 0:
        raise ValueError(f"temperature={temperature} must be > 0")
    if not 0.0 <= classifier_weight <= 1.0:
        raise ValueError(f"classifier_weight={classifier_weight} must be in [0, 1]")
    sims = np.atleast_2d(np.asarray(similarities, dtype=np.float64))
    candidate = np.isfinite(sims)
    logits = np.where(candidate, sims, 0.0) / temperature
    if classifier_probabilities is not None:
        probs = np.atleast_2d(np.asarray(classifier_probabilities, dtype=np.float64))
        if probs.shape != sims.shape:
            raise ValueError(
                f"classifier_probabilities {probs.shape} != similarities {sims.shape}"
            )
        # Floor: a probability of exactly 0 must not veto a strong retrieval match outright.
        log_probs = np.log(np.clip(np.nan_to_num(probs), PROBABILITY_FLOOR, 1.0))
        logits = (1.0 - classifier_weight) * logits + classifier_weight * log_probs
    logits = np.where(candidate, logits, -np.inf)
    row_max = logits.max(axis=1, keepdims=True)
    row_max = np.where(np.isfinite(row_max), row_max, 0.0)  # rows with no candidate at all
    weights = np.exp(logits - row_max)  # exp(-inf) = 0: non-candidates get nothing
    totals = weights.sum(axis=1, keepdims=True)
    return np.divide(weights, totals, out=np.zeros_like(weights), where=totals > 0)


def entry_similarities(
    hit_entry_ids: Sequence[int], hit_scores: Sequence[float]
) -> dict[int, float]:
    """Best cosine per entry over its phrasing hits (an entry has many phrasings)."""
    if len(hit_entry_ids) != len(hit_scores):
        raise ValueError(
            f"got {len(hit_entry_ids)} hit_entry_ids but {len(hit_scores)} hit_scores; "
            "pass one score per hit"
        )
    best: dict[int, float] = {}
    for entry_id, score in zip(hit_entry_ids, hit_scores, strict=True):
        value = float(score)
        if not np.isfinite(value):  # FAISS pads missing hits with -inf
            continue
        key = int(entry_id)
        if key not in best or value > best[key]:
            best[key] = value
    return best


def rank_entries(
    *,
    hit_entry_ids: Sequence[int],
    hit_scores: Sequence[float],
    intent_probabilities: Mapping[int, float] | None,
    top_n: int = DEFAULT_TOP_N,
    temperature: float | None = None,
    classifier_weight: float = CLASSIFIER_WEIGHT,
) -> list[RankedEntry]:
    """Rank knowledge-base entries for one question, best first (at most `top_n`).

    Args:
        hit_entry_ids: the entry of each phrasing-level hit (repeats are expected).
        hit_scores: the cosine of each hit, same length.
        intent_probabilities: entry_id -> P(the entry's intent) from the intent classifier, or
            None without a classifier. Entries in it that are not among the hits still compete
            (with the lowest hit cosine). Pass live entries only.
        top_n: how many entries to return.
        temperature, classifier_weight: see `combine_scores`; the defaults are the fitted
            constants (COMBINED_TEMPERATURE with a classifier, RETRIEVAL_TEMPERATURE without).

    Returns:
        Up to `top_n` RankedEntry, highest score first (ties: higher cosine, then lower id).
        No hits means nothing to answer from: an empty list.
    """
    if top_n < 1:
        raise ValueError(f"top_n={top_n} must be >= 1")
    best = entry_similarities(hit_entry_ids, hit_scores)
    if not best:
        return []
    # An entry outside the hits is at most as similar as the weakest hit.
    floor = min(float(s) for s in hit_scores if np.isfinite(float(s)))
    candidates = dict(best)
    if intent_probabilities is not None:
        for entry_id in intent_probabilities:
            candidates.setdefault(int(entry_id), floor)
    entry_ids = list(candidates)
    sims = np.array([candidates[e] for e in entry_ids], dtype=np.float64)
    probs = None
    if intent_probabilities is not None:
        lookup = {int(k): float(v) for k, v in intent_probabilities.items()}
        probs = np.array([lookup.get(e, 0.0) for e in entry_ids], dtype=np.float64)
    if temperature is None:
        temperature = RETRIEVAL_TEMPERATURE if probs is None else COMBINED_TEMPERATURE
    scores = combine_scores(
        sims[None, :],
        None if probs is None else probs[None, :],
        temperature=temperature,
        classifier_weight=classifier_weight,
    )[0]
    order = sorted(range(len(entry_ids)), key=lambda i: (-scores[i], -sims[i], entry_ids[i]))
    return [
        RankedEntry(
            entry_id=entry_ids[i],
            score=float(min(max(scores[i], 0.0), 1.0)),
            retrieval_score=float(sims[i]),
            intent_probability=None if probs is None else float(probs[i]),
        )
        for i in order[:top_n]
    ]


def decide(ranked: Sequence[RankedEntry], thresholds: Thresholds) -> Decision:
    """Answer, suggest or hand off from the top entry's confidence; nothing ranked hands off."""
    entries = list(ranked)
    confidence = entries[0].score if entries else 0.0
    if not entries or confidence < thresholds.suggest:
        action = ACTION_HANDOFF
    elif confidence >= thresholds.answer:
        action = ACTION_ANSWER
    else:
        action = ACTION_SUGGEST
    return Decision(action=action, ranked=entries, confidence=confidence)

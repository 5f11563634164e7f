"""Turn retrieval hits and intent probabilities into ranked entries and an answer decision.

Framework-free (numpy only) so the Django chat service and `bench/chat_quality.py` share it.

How an entry is scored. Every constant below was fitted by `bench/chat_quality.py` on a
stratified 10% validation split of Banking77's train set (1,003 questions, never test), with
the knowledge base built from the other 9,000 train questions and the base MiniLM encoder
(what the service indexes); `bench/results/chat_quality.json`, "calibration", has the numbers.

1. Retrieval score of an entry = max cosine over its phrasings' hits. Alternatives were within
   noise on validation (recall@1 / NLL, retrieval alone): max 0.910 / 0.299, mean of the two
   best phrasings 0.913 / 0.293, log-sum-exp 0.909 / 0.293 (3 questions of 1,003), so the
   simplest one, which is also the `retrieval_score` shown as evidence, stays.
2. Retrieval alone: softmax over the candidate entries of `cosine / RETRIEVAL_TEMPERATURE`,
   the temperature minimising validation NLL of the correct entry (0.02706). Test: recall@1
   0.916, recall@5 0.988, expected calibration error of the top score 0.014.
3. With the intent classifier: the log-linear pool
   `p ~ p_retrieval ** (1 - w) * p_classifier ** w` (softmax of
   `(1 - w) * cosine / COMBINED_TEMPERATURE + w * log p_classifier`), both constants fitted
   jointly by validation NLL (T 0.02706, w 0.625; the classifier fine-tuned 4 epochs with
   length-grouped batches and label smoothing 0.1). It beat the linear mixture
   `(1 - w) p_r + w p_c` on validation (NLL 0.203 vs 0.262, recall@1 0.942 vs 0.924). Test:
   recall@1 0.947 (classifier alone 0.943), recall@5 0.993, calibration error 0.014, so a
   score reads as the probability that the entry is the right answer.
   An entry only the classifier proposed (not among the hits) competes with the lowest hit
   cosine, an upper bound of its unknown similarity. A hit entry missing from
   `intent_probabilities` (e.g. added after the model was trained) gets a neutral 1 / number
   of candidates instead of a veto; an explicit 0 is floored at PROBABILITY_FLOOR.

The top entry's score times P(in scope) is the bot's confidence; `decide` compares it with
two thresholds. Those are chosen per trained intent model, from its own held-out data
(`apps.chat.training.intent_decision_points`, stored with the model version); the settings'
`CHAT_ANSWER_THRESHOLD` / `CHAT_SUGGEST_THRESHOLD` (Banking77's, from the same benchmark) apply
only while no model with stored points is in production. `score_question` is the whole pure
path from hits and classifier output to a decision, shared by serving, the training-time
cross-validation and `bench/chat_field.py`, so all three decide alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

# Fitted by bench/chat_quality.py on the validation split; see the module docstring.
# (bench/results/chat_quality.json: calibration.dense / calibration.dense_classifier)
RETRIEVAL_TEMPERATURE = 0.02706  # retrieval alone (no intent model promoted yet)
COMBINED_TEMPERATURE = 0.02706  # together with the intent classifier
CLASSIFIER_WEIGHT = 0.625
PROBABILITY_FLOOR = 1e-6  # an explicit P = 0 demotes an entry strongly but stays finite
DEFAULT_TOP_N = 5

# The intent classifier's label for questions an admin marked "out of scope": asked, but
# nothing the knowledge base should answer. Reserved: no entry may use it (slugify never
# yields leading underscores, and a constraint stops explicit use).
OUT_OF_SCOPE_INTENT = "__out_of_scope__"

ACTION_ANSWER = "answer"
ACTION_SUGGEST = "suggest"
ACTION_HANDOFF = "handoff"


SUGGEST_ON_TOP1 = "top1"  # suggest when the top entry's confidence reaches `suggest`
SUGGEST_ON_TOP3 = "top3"  # suggest when the top 3 entries' summed confidence reaches it


@dataclass(frozen=True)
class Thresholds:
    """Confidence cut-offs: >= answer answers, >= suggest offers "Did you mean", else hand off.

    `suggest_on` says what `suggest` is compared with. A trained model's own points use
    "top3": P(the right entry is among the 3 offered) = the top 3 scores summed, times
    P(in scope), which is what makes a suggestion useful. The settings' Banking77 pair is "top1".
    """

    answer: float
    suggest: float
    suggest_on: str = SUGGEST_ON_TOP1

    def __post_init__(self) -> None:
        if self.suggest_on not in (SUGGEST_ON_TOP1, SUGGEST_ON_TOP3):
            raise ValueError(f"suggest_on={self.suggest_on!r} must be 'top1' or 'top3'")
        limit = self.answer if self.suggest_on == SUGGEST_ON_TOP1 else 1.0
        if not (0.0 <= self.suggest <= limit and 0.0 <= self.answer <= 1.0):
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
    top3_confidence: float = 0.0  # the top 3 scores summed (both times P(in scope))


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
            raise ValueError(f"classifier_probabilities {probs.shape} != similarities {sims.shape}")
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
            (with the lowest hit cosine); hit entries missing from it (the classifier does not
            know their intent) get a neutral probability. Pass live entries only.
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
    known: set[int] = set()
    if intent_probabilities is not None:
        lookup = {int(k): float(v) for k, v in intent_probabilities.items()}
        known = set(lookup)
        neutral = 1.0 / len(entry_ids)  # no opinion from the classifier: uniform, not a veto
        probs = np.array([lookup.get(e, neutral) for e in entry_ids], dtype=np.float64)
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
            intent_probability=float(probs[i])
            if probs is not None and entry_ids[i] in known
            else None,
        )
        for i in order[:top_n]
    ]


def decide(
    ranked: Sequence[RankedEntry], thresholds: Thresholds, *, out_of_scope_probability: float = 0.0
) -> Decision:
    """Answer, suggest or hand off from the top entry's confidence; nothing ranked hands off.

    `out_of_scope_probability`: the intent classifier's P(question is out of scope), when it
    was trained with questions admins marked so. Entry scores are P(entry | in scope), so the
    confidence is top score * (1 - P(out of scope)), compared with the same thresholds.
    """
    if not 0.0 <= out_of_scope_probability <= 1.0:
        raise ValueError(f"out_of_scope_probability={out_of_scope_probability} not in [0, 1]")
    entries = list(ranked)
    in_scope = 1.0 - out_of_scope_probability
    confidence = entries[0].score * in_scope if entries else 0.0
    top3 = sum(r.score for r in entries[:3]) * in_scope
    against = top3 if thresholds.suggest_on == SUGGEST_ON_TOP3 else confidence
    if not entries:
        action = ACTION_HANDOFF
    elif confidence >= thresholds.answer:
        action = ACTION_ANSWER
    elif against >= thresholds.suggest:
        action = ACTION_SUGGEST
    else:
        action = ACTION_HANDOFF
    return Decision(
        action=action, ranked=entries, confidence=confidence, top3_confidence=min(top3, 1.0)
    )


@dataclass(frozen=True)
class ScoredQuestion:
    """A question's ranking and the classifier's view of it, before any threshold."""

    ranked: list[RankedEntry]
    out_of_scope_probability: float  # 0.0 without a classifier trained on such examples
    top_intent: str | None  # the classifier's most likely entry intent (never out-of-scope)
    top_intent_probability: float | None

    @property
    def confidence(self) -> float:
        """What `decide` compares with the answer point: top score * P(in scope)."""
        return self.ranked[0].score * (1.0 - self.out_of_scope_probability) if self.ranked else 0.0

    @property
    def top3_confidence(self) -> float:
        """P(the right entry is among the top 3): their scores summed, times P(in scope)."""
        top3 = sum(r.score for r in self.ranked[:3])
        return min(top3, 1.0) * (1.0 - self.out_of_scope_probability)

    def decide(self, thresholds: Thresholds) -> Decision:
        return decide(
            self.ranked, thresholds, out_of_scope_probability=self.out_of_scope_probability
        )


def best_intent(intent_probabilities: Mapping[str, float] | None) -> str | None:
    """The classifier's most likely entry intent; the out-of-scope label is not an entry."""
    if not intent_probabilities:
        return None
    candidates = {k: v for k, v in intent_probabilities.items() if k != OUT_OF_SCOPE_INTENT}
    return max(candidates, key=candidates.__getitem__, default=None)


def score_question(
    *,
    hits: Sequence[tuple[int, float]],
    entry_intents: Mapping[int, str],
    intent_probabilities: Mapping[str, float] | None,
    top_n: int = DEFAULT_TOP_N,
) -> ScoredQuestion:
    """Rank the entries for one question from its phrasing hits and the classifier's output.

    Args:
        hits: (entry id, cosine) per retrieved phrasing of a live entry.
        entry_intents: entry id -> intent for every hit entry, plus the entry of
            `best_intent(intent_probabilities)` when there is one (the classifier may be sure
            of an entry none of whose phrasings was retrieved).
        intent_probabilities: the intent model's P(label) (labels are intents, plus
            OUT_OF_SCOPE_INTENT when it learnt such examples), or None without a model.
    """
    out_of_scope = 0.0
    entry_probs: dict[int, float] | None = None
    if intent_probabilities is not None:
        probs = dict(intent_probabilities)
        # Not an entry: it lowers the confidence in every entry instead (see `decide`).
        out_of_scope = min(1.0, max(0.0, float(probs.pop(OUT_OF_SCOPE_INTENT, 0.0))))
        # Entries newer than the model have no intent in it: rank_entries treats them neutrally.
        entry_probs = {
            eid: float(probs[intent]) for eid, intent in entry_intents.items() if intent in probs
        }
    ranked = rank_entries(
        hit_entry_ids=[eid for eid, _ in hits],
        hit_scores=[score for _, score in hits],
        intent_probabilities=entry_probs,
        top_n=top_n,
    )
    top = best_intent(intent_probabilities)
    return ScoredQuestion(
        ranked=ranked,
        out_of_scope_probability=out_of_scope,
        top_intent=top,
        top_intent_probability=None if top is None else float(intent_probabilities[top]),
    )

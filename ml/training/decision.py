"""Choose a bot's decision points (answer / suggest / hand off) from held-out confidences.

Framework-free: the chat app's training hook and `bench/chat_field.py` both call it. The input
is one `HeldOutScore` per held-out question (cross-validation over a knowledge base's own
phrasings, history and out-of-scope examples), scored exactly as serving scores a question. The
admin states targets (`DecisionTargets`), not raw numbers; the points follow per trained model,
because a 17-entry base fine-tuned on 100 phrasings spreads its confidences quite differently
from Banking77's 77 intents.

Policy (each step picks the lowest point that meets its targets, i.e. answers and suggests as
much as the held-out data allows):

1. answer: lowest threshold t such that, of the in-scope questions with confidence >= t, at
   least `answer_precision` get the right entry, and at most `max_oos_answered` of the
   out-of-scope questions reach t.
2. suggest, compared with the top 3's summed confidence (P(the right entry is among the 3
   offered)): lowest s such that at most `max_oos_kept` of the out-of-scope questions are
   answered or reach s (the rest are offered a person), and of the in-scope questions not
   answered that reach s at least `suggest_recall` have the right entry among the 3 offered.

A chosen point lies halfway between the held-out confidence it admits and the next lower one
(a margin on both sides instead of sitting on one example).

Cross-validation is pessimistic on a small knowledge base: each fold's model learns from 2/3 of
the phrasings (4 of an entry's 6), and on so little data every phrasing counts. On the demo,
3-fold held-out answers were wrong 5 % of the time at a threshold where the final model, on new
customer questions, answered none wrongly (bench/results/chat_field.json, "model_plain_cv"). The
scores are therefore Efron's .632 blend (`resubstitution_blend`): 0.632 of the weight on the
held-out scores, 0.368 on the final model's scores on its own training data (optimistic), the
standard correction of that bias (Efron & Tibshirani 1997, "Improvements on cross-validation:
the .632+ bootstrap method").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

CURVE_POINTS = 60  # the stored trade-off curve: enough for a chart, small in a JSON column


@dataclass(frozen=True)
class HeldOutScore:
    """One held-out question as serving would have scored it."""

    confidence: float  # top entry's score * (1 - P(out of scope))
    in_scope: bool  # False: an out-of-scope example (the right action is a person)
    top1_correct: bool  # the top entry is the question's entry
    top3_correct: bool  # the question's entry is among the top 3
    # The top 3 scores summed * P(in scope): what the suggest point is compared with.
    top3_confidence: float | None = None  # None: same as `confidence`
    # Share of the estimate this score carries (see `resubstitution_blend`); 1.0 = plain CV.
    weight: float = 1.0


@dataclass(frozen=True)
class DecisionTargets:
    """What the admin asks of the bot, as shares of held-out questions."""

    answer_precision: float = 0.97  # answers to in-scope questions that are right
    max_oos_answered: float = 0.05  # out-of-scope questions the bot answers anyway
    max_oos_kept: float = 0.10  # out-of-scope questions not offered a person (answer/suggest)
    suggest_recall: float = 0.80  # suggested questions whose right entry is among the 3 offered

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if not 0.0 <= float(value) <= 1.0:
                raise ValueError(f"DecisionTargets.{name}={value} must be a share in [0, 1]")
        if self.max_oos_answered > self.max_oos_kept:
            raise ValueError(
                f"max_oos_answered={self.max_oos_answered} exceeds max_oos_kept="
                f"{self.max_oos_kept}: an answered question is also one not offered a person"
            )


@dataclass(frozen=True)
class CurvePoint:
    """The trade-off at one answer threshold (held-out shares)."""

    threshold: float
    answered: float  # in-scope questions answered
    wrong: float  # of those answers, the share with the wrong entry
    oos_answered: float  # out-of-scope questions answered


@dataclass(frozen=True)
class DecisionPoints:
    """Chosen thresholds, what they did on the held-out data, and the curve they came from."""

    answer: float
    suggest: float
    targets: DecisionTargets
    met: bool  # every target was met at the chosen points
    n_in_scope: int
    n_out_of_scope: int
    answered: float  # in-scope share answered (right or wrong)
    answered_right: float  # in-scope share answered with the right entry
    wrong: float  # share of in-scope answers that are wrong
    suggested: float  # in-scope share offered suggestions
    suggested_right: float  # of those, the share whose 3 suggestions hold the right entry
    oos_answered: float
    oos_handoff: float  # out-of-scope share offered a person
    curve: tuple[CurvePoint, ...] = field(default=())
    suggest_on: str = "top3"  # `suggest` is compared with the top 3's summed confidence

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["curve"] = [asdict(point) for point in self.curve]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DecisionPoints:
        """Rebuild from stored JSON (ModelVersion.metrics["decision"]); KeyError if incomplete."""
        values = dict(data)
        values["targets"] = DecisionTargets(**values["targets"])
        values["curve"] = tuple(CurvePoint(**point) for point in values.get("curve", ()))
        return cls(**values)


HELD_OUT_SHARE = 0.632  # Efron's .632: share of the estimate on data the model never saw


def resubstitution_blend(
    held_out: Sequence[HeldOutScore],
    resubstitution: Sequence[HeldOutScore],
    *,
    held_out_share: float = HELD_OUT_SHARE,
) -> list[HeldOutScore]:
    """Both sets, weighted so held-out scores carry `held_out_share` of every estimate."""
    if not 0.0 < held_out_share <= 1.0:
        raise ValueError(f"held_out_share={held_out_share} must be in (0, 1]")
    if not resubstitution or held_out_share == 1.0:
        return list(held_out)
    w_out = held_out_share / max(len(held_out), 1)
    w_in = (1.0 - held_out_share) / len(resubstitution)
    return [replace(s, weight=w_out) for s in held_out] + [
        replace(s, weight=w_in) for s in resubstitution
    ]


def _mean(values: np.ndarray, weights: np.ndarray, mask: np.ndarray) -> float | None:
    """Weighted mean of `values` over `mask`; None when the mask is empty."""
    total = float(weights[mask].sum())
    return float((values[mask] * weights[mask]).sum() / total) if total > 0 else None


def _between(sorted_values: np.ndarray, value: float) -> float:
    """Halfway from `value` to the next lower held-out confidence (0 below the lowest)."""
    lower = sorted_values[sorted_values < value]
    return float((value + (lower.max() if lower.size else 0.0)) / 2.0)


@dataclass(frozen=True)
class _Scores:
    """Column view of the scores of one group (in-scope or out-of-scope questions)."""

    conf: np.ndarray
    top3_conf: np.ndarray
    weight: np.ndarray
    top1: np.ndarray
    top3: np.ndarray

    @classmethod
    def of(cls, scores: Sequence[HeldOutScore]) -> _Scores:
        return cls(
            conf=np.array([s.confidence for s in scores], dtype=np.float64),
            top3_conf=np.array(
                [s.confidence if s.top3_confidence is None else s.top3_confidence for s in scores],
                dtype=np.float64,
            ),
            weight=np.array([s.weight for s in scores], dtype=np.float64),
            top1=np.array([s.top1_correct for s in scores], dtype=np.float64),
            top3=np.array([s.top3_correct for s in scores], dtype=np.float64),
        )

    def share(self, mask: np.ndarray) -> float:
        return _mean(mask.astype(np.float64), self.weight, np.ones_like(mask, dtype=bool)) or 0.0


def decision_points_choose(
    scores: Sequence[HeldOutScore], *, targets: DecisionTargets
) -> DecisionPoints:
    """Pick answer and suggest thresholds for `targets` from held-out scores (see module doc).

    Args:
        scores: one per held-out question (weighted, see `HeldOutScore.weight`); needs at least
            one in-scope question.
        targets: the admin's targets.

    Returns:
        DecisionPoints; `met` is False when no threshold meets a target (the answer point is
        then 1.0, i.e. the bot answers only when certain; the suggest point 1.0 likewise).
    """
    inside = _Scores.of([s for s in scores if s.in_scope])
    outside = _Scores.of([s for s in scores if not s.in_scope])
    if not inside.conf.size:
        raise ValueError("no in-scope held-out question: cannot choose decision points")
    values = np.unique(np.concatenate([inside.conf, outside.conf]))  # candidate thresholds

    def answer_ok(t: float) -> bool:
        precision = _mean(inside.top1, inside.weight, inside.conf >= t)
        return (precision is None or precision >= targets.answer_precision) and outside.share(
            outside.conf >= t
        ) <= targets.max_oos_answered

    feasible = [float(t) for t in values if answer_ok(float(t))]
    met = bool(feasible)
    answer = _between(values, feasible[0]) if feasible else 1.0

    answered = inside.conf >= answer
    oos_answered = outside.conf >= answer

    def suggest_ok(s: float) -> bool:
        recall = _mean(inside.top3, inside.weight, (inside.top3_conf >= s) & ~answered)
        kept = oos_answered | (outside.top3_conf >= s)
        return (recall is None or recall >= targets.suggest_recall) and outside.share(
            kept
        ) <= targets.max_oos_kept

    top3_values = np.unique(np.concatenate([inside.top3_conf, outside.top3_conf, [1.0]]))
    candidates = [float(s) for s in top3_values if suggest_ok(float(s))]
    # Even s = 1 fails (answers alone keep too many off-topic questions): never suggest.
    suggest = _between(top3_values, candidates[0]) if candidates else 1.0
    met = met and bool(candidates)
    suggested = (inside.top3_conf >= suggest) & ~answered
    wrong = _mean(1.0 - inside.top1, inside.weight, answered)
    return DecisionPoints(
        answer=round(answer, 6),
        suggest=round(suggest, 6),
        targets=targets,
        met=met,
        n_in_scope=int(inside.conf.size),
        n_out_of_scope=int(outside.conf.size),
        answered=inside.share(answered),
        answered_right=inside.share(answered & (inside.top1 > 0)),
        wrong=wrong or 0.0,
        suggested=inside.share(suggested),
        suggested_right=_mean(inside.top3, inside.weight, suggested) or 0.0,
        oos_answered=outside.share(oos_answered),
        oos_handoff=outside.share(~oos_answered & (outside.top3_conf < suggest)),
        curve=tradeoff_curve(inside, outside),
    )


def tradeoff_curve(
    inside: _Scores, outside: _Scores, *, points: int = CURVE_POINTS
) -> tuple[CurvePoint, ...]:
    """Share answered vs share of answers wrong (and OOS answered) over answer thresholds."""
    curve = []
    for t in np.linspace(0.0, 1.0, points + 1):
        answered = inside.conf >= t
        wrong = _mean(1.0 - inside.top1, inside.weight, answered)
        curve.append(
            CurvePoint(
                threshold=round(float(t), 4),
                answered=round(inside.share(answered), 4),
                wrong=round(wrong or 0.0, 4),
                oos_answered=round(outside.share(outside.conf >= t), 4),
            )
        )
    return tuple(curve)

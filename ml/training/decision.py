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
2. suggest (<= answer): lowest s such that at most `max_oos_kept` of the out-of-scope questions
   reach s (the rest are offered a person), and of the in-scope questions in [s, answer) at
   least `suggest_recall` have the right entry among the top 3 offered.

A chosen point lies halfway between the held-out confidence it admits and the next lower one
(a margin on both sides instead of sitting on one example).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
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


def _share(mask: np.ndarray) -> float:
    return float(mask.mean()) if mask.size else 0.0


def _between(sorted_values: np.ndarray, value: float) -> float:
    """Halfway from `value` to the next lower held-out confidence (0 below the lowest)."""
    lower = sorted_values[sorted_values < value]
    return float((value + (lower.max() if lower.size else 0.0)) / 2.0)


def decision_points_choose(
    scores: Sequence[HeldOutScore], *, targets: DecisionTargets
) -> DecisionPoints:
    """Pick answer and suggest thresholds for `targets` from held-out scores (see module doc).

    Args:
        scores: one per held-out question; needs at least one in-scope question.
        targets: the admin's targets.

    Returns:
        DecisionPoints; `met` is False when no threshold meets a target (the answer point is
        then 1.0, i.e. the bot answers only when certain, and suggest falls back to answer).
    """
    conf = np.array([s.confidence for s in scores], dtype=np.float64)
    in_scope = np.array([s.in_scope for s in scores], dtype=bool)
    top1 = np.array([s.top1_correct for s in scores], dtype=bool)
    top3 = np.array([s.top3_correct for s in scores], dtype=bool)
    if not in_scope.any():
        raise ValueError("no in-scope held-out question: cannot choose decision points")
    conf_in, top1_in, top3_in = conf[in_scope], top1[in_scope], top3[in_scope]
    conf_oos = conf[~in_scope]
    values = np.unique(conf)  # ascending candidate thresholds

    def answer_ok(t: float) -> bool:
        answered = conf_in >= t
        precision = float(top1_in[answered].mean()) if answered.any() else 1.0
        return (
            precision >= targets.answer_precision
            and _share(conf_oos >= t) <= targets.max_oos_answered
        )

    feasible = [float(t) for t in values if answer_ok(float(t))]
    met = bool(feasible)
    answer = _between(values, feasible[0]) if feasible else 1.0

    def suggest_ok(s: float) -> bool:
        band = (conf_in >= s) & (conf_in < answer)
        recall = float(top3_in[band].mean()) if band.any() else 1.0
        return recall >= targets.suggest_recall and _share(conf_oos >= s) <= targets.max_oos_kept

    candidates = [float(s) for s in values if s < answer and suggest_ok(float(s))]
    # No band meets the suggestion targets: answer or hand off, never a doubtful "did you mean".
    suggest = _between(values, candidates[0]) if candidates else answer
    return _summarise(conf_in, top1_in, top3_in, conf_oos, answer, suggest, targets, met)


def _summarise(
    conf_in: np.ndarray,
    top1_in: np.ndarray,
    top3_in: np.ndarray,
    conf_oos: np.ndarray,
    answer: float,
    suggest: float,
    targets: DecisionTargets,
    met: bool,
) -> DecisionPoints:
    answered = conf_in >= answer
    suggested = (conf_in >= suggest) & ~answered
    return DecisionPoints(
        answer=round(answer, 6),
        suggest=round(suggest, 6),
        targets=targets,
        met=met,
        n_in_scope=int(conf_in.size),
        n_out_of_scope=int(conf_oos.size),
        answered=_share(answered),
        answered_right=_share(answered & top1_in),
        wrong=float((~top1_in[answered]).mean()) if answered.any() else 0.0,
        suggested=_share(suggested),
        suggested_right=float(top3_in[suggested].mean()) if suggested.any() else 0.0,
        oos_answered=_share(conf_oos >= answer),
        oos_handoff=_share(conf_oos < suggest),
        curve=tradeoff_curve(conf_in, top1_in, conf_oos),
    )


def tradeoff_curve(
    conf_in: np.ndarray, top1_in: np.ndarray, conf_oos: np.ndarray, *, points: int = CURVE_POINTS
) -> tuple[CurvePoint, ...]:
    """Share answered vs share of answers wrong (and OOS answered) over answer thresholds."""
    curve = []
    for t in np.linspace(0.0, 1.0, points + 1):
        answered = conf_in >= t
        curve.append(
            CurvePoint(
                threshold=round(float(t), 4),
                answered=round(_share(answered), 4),
                wrong=round(float((~top1_in[answered]).mean()), 4) if answered.any() else 0.0,
                oos_answered=round(_share(conf_oos >= t), 4),
            )
        )
    return tuple(curve)

"""Decision points come from held-out scores and the admin's targets (hand-computed cases)."""

from __future__ import annotations

import pytest

from ml.training.decision import (
    DecisionPoints,
    DecisionTargets,
    HeldOutScore,
    decision_points_choose,
    resubstitution_blend,
)


def _in(confidence: float, top1: bool, top3: bool) -> HeldOutScore:
    return HeldOutScore(confidence=confidence, in_scope=True, top1_correct=top1, top3_correct=top3)


def _oos(confidence: float) -> HeldOutScore:
    return HeldOutScore(
        confidence=confidence, in_scope=False, top1_correct=False, top3_correct=False
    )


# Seven in-scope questions (confidence, top 1 right, right entry in top 3) and three off-topic.
SCORES = [
    _in(0.95, True, True),
    _in(0.90, True, True),
    _in(0.85, True, True),
    _in(0.80, False, True),
    _in(0.70, True, True),
    _in(0.60, True, True),
    _in(0.50, False, False),
    _oos(0.75),
    _oos(0.40),
    _oos(0.30),
]


def test_lowest_points_that_meet_the_targets_halfway_to_the_next_score() -> None:
    targets = DecisionTargets(
        answer_precision=0.8, max_oos_answered=0.0, max_oos_kept=0.34, suggest_recall=0.5
    )

    points = decision_points_choose(SCORES, targets=targets)

    # Answer: no off-topic question may reach it, so t > 0.75; at 0.80 precision is 3/4 < 0.8,
    # at 0.85 it is 3/3 -> halfway to the next lower score 0.80.
    assert points.answer == pytest.approx(0.825)
    # Suggest: 0.40 keeps 2/3 off-topic questions (> 0.34); at 0.50 one of three, and the band
    # [0.50, 0.825) holds 0.80, 0.70, 0.60 (top 3 right) and 0.50 (not): 3/4 >= 0.5.
    assert points.suggest == pytest.approx(0.45)
    assert points.met
    assert points.answered == pytest.approx(3 / 7) and points.wrong == 0.0
    assert points.suggested == pytest.approx(4 / 7)
    assert points.suggested_right == pytest.approx(3 / 4)
    assert points.oos_answered == 0.0 and points.oos_handoff == pytest.approx(2 / 3)


def test_a_stricter_suggestion_target_narrows_the_band() -> None:
    targets = DecisionTargets(
        answer_precision=0.8, max_oos_answered=0.0, max_oos_kept=0.34, suggest_recall=0.8
    )

    points = decision_points_choose(SCORES, targets=targets)

    # At 0.50 the band's top-3 recall is 3/4 < 0.8; at 0.60 it is 3/3.
    assert points.answer == pytest.approx(0.825)
    assert points.suggest == pytest.approx(0.55)


def test_an_unreachable_precision_answers_only_when_certain_and_says_so() -> None:
    scores = [_in(0.99, False, True), _in(0.9, True, True), _oos(0.1)]

    points = decision_points_choose(scores, targets=DecisionTargets(answer_precision=1.0))

    assert not points.met
    assert points.answer == 1.0
    assert points.answered == 0.0


def test_points_round_trip_through_json_and_carry_the_curve() -> None:
    points = decision_points_choose(SCORES, targets=DecisionTargets(answer_precision=0.8))

    again = DecisionPoints.from_dict(points.to_dict())

    assert again == points
    at_zero = again.curve[0]
    assert at_zero.threshold == 0.0 and at_zero.answered == 1.0
    assert at_zero.wrong == pytest.approx(2 / 7, abs=1e-4) and at_zero.oos_answered == 1.0
    assert [p.answered for p in again.curve] == sorted(
        (p.answered for p in again.curve), reverse=True
    )


def test_targets_are_shares_and_answering_implies_not_handing_off() -> None:
    with pytest.raises(ValueError, match="answer_precision"):
        DecisionTargets(answer_precision=97)
    with pytest.raises(ValueError, match="max_oos_answered"):
        DecisionTargets(max_oos_answered=0.2, max_oos_kept=0.1)
    with pytest.raises(ValueError, match="in-scope"):
        decision_points_choose([_oos(0.5)], targets=DecisionTargets())


def test_the_632_blend_weighs_held_out_scores_more_than_the_final_models_own() -> None:
    held_out = [_in(0.9, True, True), _in(0.9, False, True), _in(0.2, False, True)]
    resubstitution = [_in(0.95, True, True), _in(0.95, True, True), _in(0.9, True, True)]
    blended = resubstitution_blend(held_out, resubstitution)
    assert sum(s.weight for s in blended) == pytest.approx(1.0)
    assert blended[0].weight == pytest.approx(0.632 / 3)
    assert blended[3].weight == pytest.approx(0.368 / 3)

    # Precision 0.8. Held out alone: 1/3 from 0.2 up, 1/2 from 0.9 up: never met.
    plain = decision_points_choose(held_out, targets=DecisionTargets(answer_precision=0.8))
    assert not plain.met and plain.answer == 1.0
    # Blended, from 0.9 up: right 0.632/3 + 0.368 = 0.5787 of 0.632 * 2/3 + 0.368 = 0.7893,
    # 0.733 < 0.8; from 0.95 up only the final model's two right ones: halfway to 0.9.
    blend_08 = decision_points_choose(blended, targets=DecisionTargets(answer_precision=0.8))
    assert blend_08.met and blend_08.answer == pytest.approx(0.925)
    # Precision 0.7: from 0.2 up 0.5787 / 1; from 0.9 up 0.733 -> halfway to 0.2.
    blend_07 = decision_points_choose(blended, targets=DecisionTargets(answer_precision=0.7))
    assert blend_07.answer == pytest.approx(0.55)
    assert blend_07.wrong == pytest.approx((0.632 / 3) / (0.632 * 2 / 3 + 0.368))


def test_the_suggest_point_is_on_the_top_3s_summed_confidence() -> None:
    def score(conf: float, top3_conf: float, top1: bool, top3: bool, in_scope: bool = True):  # noqa: ANN202
        return HeldOutScore(conf, in_scope, top1, top3, top3_confidence=top3_conf)

    scores = [
        score(0.9, 0.95, True, True),
        score(0.5, 0.90, False, True),  # unsure between two entries, the right one among them
        score(0.4, 0.85, False, True),
        score(0.3, 0.50, False, False),
        score(0.2, 0.60, False, False, in_scope=False),
        score(0.1, 0.30, False, False, in_scope=False),
    ]
    targets = DecisionTargets(
        answer_precision=0.9, max_oos_answered=0.0, max_oos_kept=0.5, suggest_recall=0.8
    )

    points = decision_points_choose(scores, targets=targets)

    # Answer: only 0.9 is right -> halfway to 0.5. Suggest (top-3 scale): at 0.5 one off-topic
    # kept (ok) but 2 of 3 unanswered right (< 0.8); at 0.6 still one kept, 2 of 2 right.
    assert points.answer == pytest.approx(0.7) and points.suggest_on == "top3"
    assert points.suggest == pytest.approx(0.55)
    assert points.suggested == pytest.approx(0.5) and points.suggested_right == 1.0
    assert points.oos_handoff == pytest.approx(0.5)

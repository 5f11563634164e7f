"""With a model's own points the bot suggests when the right entry is likely among the top 3."""

from __future__ import annotations

import pytest

from apps.chat.answering import RankedEntry, Thresholds, decide


def _ranked(*scores: float) -> list[RankedEntry]:
    return [
        RankedEntry(entry_id=i, score=s, retrieval_score=0.5, intent_probability=None)
        for i, s in enumerate(scores, start=1)
    ]


def test_two_close_entries_get_suggestions_on_the_top3_scale_not_on_the_top1_scale() -> None:
    ranked = _ranked(0.45, 0.40, 0.10, 0.05)  # top 1 unsure; top 3 hold 0.95

    on_top3 = decide(ranked, Thresholds(answer=0.6, suggest=0.8, suggest_on="top3"))
    on_top1 = decide(ranked, Thresholds(answer=0.6, suggest=0.5))

    assert on_top3.action == "suggest"
    assert on_top3.top3_confidence == pytest.approx(0.95)
    assert on_top1.action == "handoff"


def test_out_of_scope_probability_scales_the_top3_confidence_too() -> None:
    ranked = _ranked(0.45, 0.40, 0.10)

    decision = decide(
        ranked,
        Thresholds(answer=0.6, suggest=0.8, suggest_on="top3"),
        out_of_scope_probability=0.5,
    )

    assert decision.top3_confidence == pytest.approx(0.475)
    assert decision.action == "handoff"


def test_a_top3_suggest_point_may_lie_above_the_answer_point_but_not_above_1() -> None:
    Thresholds(answer=0.6, suggest=0.9, suggest_on="top3")
    with pytest.raises(ValueError, match="suggest"):
        Thresholds(answer=0.6, suggest=0.9)
    with pytest.raises(ValueError, match="suggest_on"):
        Thresholds(answer=0.6, suggest=0.5, suggest_on="top5")

"""rank_entries / decide: how hits and intent probabilities become an answer decision."""

from __future__ import annotations

import math

import numpy as np
import pytest

from apps.chat.answering import (
    CLASSIFIER_WEIGHT,
    COMBINED_TEMPERATURE,
    RETRIEVAL_TEMPERATURE,
    Decision,
    RankedEntry,
    Thresholds,
    combine_scores,
    decide,
    rank_entries,
)

THRESHOLDS = Thresholds(answer=0.7, suggest=0.4)


def _entry(score: float, entry_id: int = 1) -> RankedEntry:
    return RankedEntry(entry_id=entry_id, score=score, retrieval_score=0.5, intent_probability=None)


def test_entry_retrieval_score_is_the_max_over_its_phrasings() -> None:
    ranked = rank_entries(
        hit_entry_ids=[7, 7, 3, 7],
        hit_scores=[0.62, 0.81, 0.70, 0.40],
        intent_probabilities=None,
    )
    assert [r.entry_id for r in ranked] == [7, 3]
    assert ranked[0].retrieval_score == pytest.approx(0.81)
    assert ranked[1].retrieval_score == pytest.approx(0.70)
    assert all(r.intent_probability is None for r in ranked)


def test_retrieval_only_scores_are_a_temperature_softmax_over_entries() -> None:
    ranked = rank_entries(
        hit_entry_ids=[1, 2], hit_scores=[0.80, 0.70], intent_probabilities=None, temperature=0.1
    )
    expected = 1.0 / (1.0 + math.exp(-1.0))  # (0.80 - 0.70) / 0.1
    assert ranked[0].score == pytest.approx(expected)
    assert ranked[0].score + ranked[1].score == pytest.approx(1.0)


def test_classifier_changes_the_order() -> None:
    hits = {"hit_entry_ids": [1, 2], "hit_scores": [0.80, 0.78]}
    alone = rank_entries(**hits, intent_probabilities=None)
    assert alone[0].entry_id == 1
    combined = rank_entries(**hits, intent_probabilities={1: 0.05, 2: 0.93})
    assert [r.entry_id for r in combined] == [2, 1]
    assert combined[0].intent_probability == pytest.approx(0.93)
    assert combined[0].score > alone[0].score


def test_classifier_weight_zero_or_one_picks_one_source() -> None:
    hits = {"hit_entry_ids": [1, 2], "hit_scores": [0.9, 0.5]}
    probs = {1: 0.1, 2: 0.9}
    retrieval = rank_entries(**hits, intent_probabilities=probs, classifier_weight=0.0)
    classifier = rank_entries(**hits, intent_probabilities=probs, classifier_weight=1.0)
    assert retrieval[0].entry_id == 1
    assert classifier[0].entry_id == 2
    assert classifier[0].score == pytest.approx(0.9)


def test_entry_only_the_classifier_proposes_competes_with_the_weakest_hit_cosine() -> None:
    ranked = rank_entries(
        hit_entry_ids=[1, 1, 2],
        hit_scores=[0.60, 0.35, 0.55],
        intent_probabilities={1: 0.01, 2: 0.01, 9: 0.97},
        classifier_weight=0.8,
    )
    assert ranked[0].entry_id == 9
    assert ranked[0].retrieval_score == pytest.approx(0.35)


def test_entry_unknown_to_the_classifier_is_not_vetoed() -> None:
    hits = {"hit_entry_ids": [1, 2], "hit_scores": [0.95, 0.70]}
    unknown = rank_entries(**hits, intent_probabilities={2: 0.9})
    assert unknown[0].entry_id == 1  # the near-exact phrasing match still wins
    assert unknown[0].intent_probability is None
    vetoed = rank_entries(**hits, intent_probabilities={1: 0.0, 2: 0.9})
    assert vetoed[0].entry_id == 2
    assert vetoed[1].intent_probability == 0.0


def test_scores_are_probabilities_and_top_n_caps_the_list() -> None:
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 30, size=50).tolist()
    scores = rng.uniform(0.2, 0.9, size=50).tolist()
    probs = dict(enumerate(rng.dirichlet(np.ones(30)).tolist(), start=1))
    ranked = rank_entries(hit_entry_ids=ids, hit_scores=scores, intent_probabilities=probs)
    assert len(ranked) == 5
    assert all(0.0 <= r.score <= 1.0 for r in ranked)
    assert [r.score for r in ranked] == sorted((r.score for r in ranked), reverse=True)
    everything = rank_entries(
        hit_entry_ids=ids, hit_scores=scores, intent_probabilities=probs, top_n=100
    )
    assert sum(r.score for r in everything) == pytest.approx(1.0)


def test_rank_entries_matches_the_vectorised_combination() -> None:
    ranked = rank_entries(
        hit_entry_ids=[1, 2, 3],
        hit_scores=[0.7, 0.6, 0.3],
        intent_probabilities={1: 0.2, 2: 0.1, 3: 0.7},
    )
    sims = np.array([[0.7, 0.6, 0.3]])
    probs = np.array([[0.2, 0.1, 0.7]])
    expected = combine_scores(
        sims, probs, temperature=COMBINED_TEMPERATURE, classifier_weight=CLASSIFIER_WEIGHT
    )[0]
    by_id = {r.entry_id: r.score for r in ranked}
    assert [by_id[i] for i in (1, 2, 3)] == pytest.approx(expected.tolist())


def test_retrieval_only_uses_its_own_fitted_temperature() -> None:
    ranked = rank_entries(hit_entry_ids=[1, 2], hit_scores=[0.7, 0.6], intent_probabilities=None)
    expected = combine_scores(np.array([[0.7, 0.6]]), None, temperature=RETRIEVAL_TEMPERATURE)[0]
    assert [r.score for r in ranked] == pytest.approx(expected.tolist())


def test_combination_is_the_normalised_product_of_both_distributions() -> None:
    sims = np.array([[0.8, 0.6, 0.5]])
    probs = np.array([[0.2, 0.5, 0.3]])
    scores = combine_scores(sims, probs, temperature=0.1, classifier_weight=0.3)[0]
    retrieval = np.exp(sims[0] / 0.1) / np.exp(sims[0] / 0.1).sum()
    product = retrieval**0.7 * probs[0] ** 0.3
    assert scores.tolist() == pytest.approx((product / product.sum()).tolist())


def test_padding_hits_are_ignored() -> None:
    ranked = rank_entries(
        hit_entry_ids=[4, -1], hit_scores=[0.5, float("-inf")], intent_probabilities=None
    )
    assert [r.entry_id for r in ranked] == [4]
    assert ranked[0].score == pytest.approx(1.0)


def test_mismatched_hit_lists_are_rejected() -> None:
    with pytest.raises(ValueError, match="one score per hit"):
        rank_entries(hit_entry_ids=[1, 2], hit_scores=[0.5], intent_probabilities=None)


@pytest.mark.parametrize(
    ("score", "action"),
    [(0.95, "answer"), (0.7, "answer"), (0.69, "suggest"), (0.4, "suggest"), (0.39, "handoff")],
)
def test_thresholds_map_confidence_to_the_three_actions(score: float, action: str) -> None:
    decision = decide([_entry(score), _entry(0.01, entry_id=2)], THRESHOLDS)
    assert decision.action == action
    assert decision.confidence == pytest.approx(score)
    assert [r.entry_id for r in decision.ranked] == [1, 2]


def test_empty_hits_hand_off_with_zero_confidence() -> None:
    ranked = rank_entries(hit_entry_ids=[], hit_scores=[], intent_probabilities={1: 0.99})
    assert ranked == []
    assert decide(ranked, THRESHOLDS) == Decision(action="handoff", ranked=[], confidence=0.0)
    assert decide([], Thresholds(answer=0.0, suggest=0.0)).action == "handoff"


def test_thresholds_must_be_ordered_within_zero_and_one() -> None:
    with pytest.raises(ValueError, match="suggest"):
        Thresholds(answer=0.3, suggest=0.5)
    with pytest.raises(ValueError):
        Thresholds(answer=1.5, suggest=0.5)

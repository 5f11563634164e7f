"""Calibration, separation and threshold helpers against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest

from ml.training.calibration import (
    ReliabilityBin,
    TradeoffPoint,
    auroc,
    choose_max_min_margin,
    expected_calibration_error,
    highest_keeping,
    mean_nll,
    reliability_bins,
    temperature_fit,
    threshold_candidates,
    tradeoff_curve,
)


def test_reliability_bins_and_ece_match_hand_computation() -> None:
    confidence = [0.95, 0.85, 0.85, 0.15, 1.0]
    correct = [True, True, False, False, True]
    bins = reliability_bins(confidence, correct, bins=2)
    assert bins == [
        ReliabilityBin(0.0, 0.5, 1, pytest.approx(0.15), 0.0),
        ReliabilityBin(0.5, 1.0, 4, pytest.approx(0.9125), 0.75),
    ]
    # 1/5 * |0 - 0.15| + 4/5 * |0.75 - 0.9125|
    assert expected_calibration_error(confidence, correct, bins=2) == pytest.approx(0.16)


def test_a_calibrated_model_has_zero_ece() -> None:
    confidence = [0.25] * 4 + [0.75] * 4
    correct = [True, False, False, False, True, True, True, False]
    assert expected_calibration_error(confidence, correct) == pytest.approx(0.0)


def test_empty_or_mismatched_calibration_input_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one prediction"):
        expected_calibration_error([], [])
    with pytest.raises(ValueError, match="2 confidences but 1 correct"):
        reliability_bins([0.1, 0.2], [True])


def test_mean_nll_floors_a_zero_probability() -> None:
    probs = np.array([[0.5, 0.5], [1.0, 0.0]])
    assert mean_nll(probs, [0, 1]) == pytest.approx((np.log(2) - np.log(1e-6)) / 2)


def test_temperature_fit_softens_an_overconfident_model() -> None:
    # Logit gap 10, right only 3 times in 4: the NLL-optimal softmax says P = 0.75,
    # i.e. 10 / T = ln 3.
    logits = np.array([[10.0, 0.0]] * 4)
    truth = [0, 0, 0, 1]
    grid = np.geomspace(1.0, 20.0, 400)
    assert temperature_fit(logits, truth, grid) == pytest.approx(10 / np.log(3), rel=0.01)


def test_auroc_counts_ties_half_and_is_nan_without_a_side() -> None:
    assert auroc([0.9, 0.4], [0.6, 0.1]) == pytest.approx(0.75)
    assert auroc([0.5], [0.5]) == pytest.approx(0.5)
    assert auroc([1.0, 0.8], [0.2]) == pytest.approx(1.0)
    assert np.isnan(auroc([], [0.1]))
    assert np.isnan(auroc([0.1], []))


def test_threshold_candidates_cover_observed_scores_and_the_ends() -> None:
    got = threshold_candidates(np.array([0.33333, 0.5]), np.array([0.5, 0.9]))
    np.testing.assert_array_equal(got, [0.0, 0.3333, 0.5, 0.9, 1.0])


def test_max_min_margin_picks_the_balanced_threshold() -> None:
    # Recall of unknowns rises with t, accuracy of answers falls; targets 0.8 / 0.9.
    recall = {0.1: 0.5, 0.2: 0.8, 0.3: 0.9, 0.4: 0.95}
    accuracy = {0.1: 0.99, 0.2: 0.95, 0.3: 0.85, 0.4: 0.7}
    chosen, margin = choose_max_min_margin(
        sorted(recall), lambda t: (recall[t] - 0.8, accuracy[t] - 0.9)
    )
    assert chosen == 0.2 and margin == pytest.approx(0.0)
    # The first of equal margins wins; two-dimensional candidates work too.
    chosen2, _ = choose_max_min_margin([(1, 2), (2, 1)], lambda c: (c[0], c[1]))
    assert chosen2 == (1, 2)
    with pytest.raises(ValueError, match="no candidate"):
        choose_max_min_margin([], lambda c: (0.0,))


def test_highest_keeping_stops_at_the_first_failure() -> None:
    accuracy = {0.2: 0.95, 0.3: 0.945, 0.4: 0.93, 0.5: 0.944}
    got = highest_keeping(accuracy, lambda t: accuracy[t] >= 0.94, start=0.2)
    assert got == 0.3  # 0.5 would pass again, but 0.4 already failed
    assert highest_keeping([0.1], lambda t: True, start=0.2) == 0.2


def test_tradeoff_curve_at_score_quantiles() -> None:
    curve = tradeoff_curve([0.0, 1.0], lambda t: {"above": float(t >= 0.5)}, points=3)
    assert curve == [
        TradeoffPoint(0.0, {"above": 0.0}),
        TradeoffPoint(0.5, {"above": 1.0}),
        TradeoffPoint(1.0, {"above": 1.0}),
    ]
    assert curve[1].as_dict() == {"threshold": 0.5, "above": 1.0}

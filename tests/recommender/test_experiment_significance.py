"""Per-variant rates carry 95% Wilson intervals; each variant faces the control in a
two-proportion z-test, and the verdict is said in words."""

from __future__ import annotations

import math

import pytest

from apps.recommender.experiments.reports import experiment_report
from apps.recommender.experiments.stats import proportion, two_proportion_p_value
from tests.recommender.experiment_rows import ab_experiment, bulk_outcomes, items

pytestmark = pytest.mark.django_db

Z95 = 1.959963984540054


def wilson(successes: int, n: int) -> tuple[float, float]:
    """Wilson (1927) score interval, written out from the formula."""
    p = successes / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 / (1 + Z95**2 / n) * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n**2))
    return centre - half, centre + half


def pooled_z_p(x1: int, n1: int, x2: int, n2: int) -> float:
    p = (x1 + x2) / (n1 + n2)
    z = (x2 / n2 - x1 / n1) / math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2))
    return math.erfc(abs(z) / math.sqrt(2))


@pytest.mark.parametrize(("successes", "n"), [(0, 40), (1, 40), (17, 120), (40, 40), (3, 1000)])
def test_intervals_are_wilson_score_intervals(successes: int, n: int) -> None:
    value = proportion(successes, n)
    low, high = wilson(successes, n)
    assert value.low == pytest.approx(max(0.0, low), abs=1e-9)
    assert value.high == pytest.approx(min(1.0, high), abs=1e-9)
    assert value.low <= value.rate <= value.high


def test_p_value_is_the_pooled_two_proportion_z_test() -> None:
    assert two_proportion_p_value(proportion(20, 200), proportion(31, 210)) == pytest.approx(
        pooled_z_p(20, 200, 31, 210), rel=1e-9
    )
    assert two_proportion_p_value(proportion(0, 50), proportion(0, 60)) == 1.0
    assert two_proportion_p_value(proportion(0, 0), proportion(3, 60)) == 1.0


def test_report_says_b_beats_a_when_the_difference_is_significant() -> None:
    experiment = ab_experiment()
    a, b = experiment.variants.order_by("id")
    (item,) = items(experiment, 1)
    bulk_outcomes(a, impressions=300, clicked=15, users_bought=3, item=item)
    bulk_outcomes(b, impressions=300, clicked=45, users_bought=5, item=item)

    report = experiment_report(experiment=experiment)
    control, variant = report.variants
    assert control.is_control and control.ctr_vs_control is None
    assert (variant.ctr.successes, variant.ctr.trials) == (45, 300)
    assert (variant.ctr.low, variant.ctr.high) == pytest.approx(wilson(45, 300))
    assert (control.conversion.low, control.conversion.high) == pytest.approx(wilson(3, 300))
    p_ctr = pooled_z_p(15, 300, 45, 300)
    assert variant.ctr_vs_control.p_value == pytest.approx(p_ctr)
    assert variant.ctr_vs_control.difference == pytest.approx(0.10)
    assert variant.ctr_vs_control.statement == "B beats A (p < 0.001)"
    p_conversion = pooled_z_p(3, 300, 5, 300)
    assert variant.conversion_vs_control.statement == (
        f"not yet significant (p = {p_conversion:.3f})"
    )
    assert not variant.conversion_vs_control.significant


def test_report_names_the_control_when_it_wins() -> None:
    experiment = ab_experiment(shares=(0.4, 0.3, 0.3))
    a, b, c = experiment.variants.order_by("id")
    (item,) = items(experiment, 1)
    bulk_outcomes(a, impressions=200, clicked=50, users_bought=0, item=item)
    bulk_outcomes(b, impressions=200, clicked=32, users_bought=0, item=item)
    bulk_outcomes(c, impressions=200, clicked=48, users_bought=0, item=item)

    by_name = {v.name: v for v in experiment_report(experiment=experiment).variants}
    p_b = pooled_z_p(50, 200, 32, 200)
    assert by_name["B"].ctr_vs_control.statement == f"A beats B (p = {p_b:.3f})"
    assert by_name["C"].ctr_vs_control.statement.startswith("not yet significant (p = ")
    assert by_name["C"].conversion_vs_control.statement == "not yet significant (p = 1.000)"

"""Proportions for A/B reports: Wilson intervals and the two-proportion test (through SciPy)."""

from __future__ import annotations

from dataclasses import dataclass

from scipy import stats

CONFIDENCE = 0.95
SIGNIFICANCE_LEVEL = 0.05


@dataclass(frozen=True)
class Proportion:
    """`successes` of `trials` with its Wilson interval (0..1 when there are no trials)."""

    successes: int
    trials: int
    low: float
    high: float

    @property
    def rate(self) -> float:
        return self.successes / self.trials if self.trials else 0.0


@dataclass(frozen=True)
class Comparison:
    """A variant against the control on one rate: difference, p-value and the verdict in words."""

    difference: float  # variant rate - control rate
    p_value: float
    significant: bool
    statement: str


def proportion(successes: int, trials: int, *, confidence: float = CONFIDENCE) -> Proportion:
    """Wilson, not the normal approximation: it stays inside [0, 1] and is right for CTRs near 0."""
    if trials <= 0:
        return Proportion(successes=0, trials=0, low=0.0, high=1.0)
    successes = max(0, min(successes, trials))
    interval = stats.binomtest(successes, trials).proportion_ci(
        confidence_level=confidence, method="wilson"
    )
    return Proportion(
        successes=successes, trials=trials, low=float(interval.low), high=float(interval.high)
    )


def two_proportion_p_value(a: Proportion, b: Proportion) -> float:
    """Two-sided p of the pooled two-proportion z-test (Pearson's chi-square on the 2x2 table,
    without continuity correction, is the same test: chi2 = z**2)."""
    if not a.trials or not b.trials:
        return 1.0
    pooled = a.successes + b.successes
    if pooled == 0 or pooled == a.trials + b.trials:
        return 1.0  # both all-or-nothing alike: no evidence of a difference
    table = [[a.successes, a.trials - a.successes], [b.successes, b.trials - b.successes]]
    return float(stats.chi2_contingency(table, correction=False).pvalue)


def compare(
    *,
    control_name: str,
    control: Proportion,
    variant_name: str,
    variant: Proportion,
    alpha: float = SIGNIFICANCE_LEVEL,
) -> Comparison:
    p_value = two_proportion_p_value(control, variant)
    difference = variant.rate - control.rate
    significant = p_value < alpha and difference != 0
    p_text = p_value_text(p_value)
    if not significant:
        statement = f"not yet significant ({p_text})"
    elif difference > 0:
        statement = f"{variant_name} beats {control_name} ({p_text})"
    else:
        statement = f"{control_name} beats {variant_name} ({p_text})"
    return Comparison(
        difference=difference, p_value=p_value, significant=significant, statement=statement
    )


def p_value_text(p_value: float) -> str:
    return "p < 0.001" if p_value < 0.001 else f"p = {p_value:.3f}"

"""Surge detection for one topic's news stream: pure (no Django), the caller passes the clock.

A rule looks at the window [now - W, now) and compares its negative articles with the topic's
own past: an exponentially weighted mean (EWMA) of negatives per W-long window over the
preceding `history_hours`, newer windows weighing more (`half_life_hours`). A window is a surge
when all of these hold:

1. volume: at least `min_articles` scored articles (one bad headline on a quiet topic pages
   no one);
2. share: negatives / articles >= `negative_share_threshold`;
3. rate: negatives >= `surge_factor` x expected negatives (the baseline, floored at
   `min_expected_per_hour` so a topic with no past still needs real volume);
4. significance: the negatives are improbable under the baseline, both as a count (Poisson
   with the expected mean) and as a share of the window's articles (binomial at the usual
   share, floored at `min_baseline_share`): each tail <= `p_value`.

Hysteresis: once surging, it stays so while the window keeps `release_fraction` of each bar
(volume, share, rate); the surge has ended when any of them drops below, which is when the
"resolved" email goes. Without it a surge hovering at the threshold would fire and resolve
every minute.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from scipy.special import bdtrc, pdtrc


@dataclass(frozen=True)
class SurgeRule:
    """The per-rule thresholds (AlertRule's fields)."""

    window_minutes: int
    min_articles: int
    negative_share_threshold: float
    surge_factor: float


@dataclass(frozen=True)
class SurgeSettings:
    """The detector's global knobs (settings SENTIMENT_SURGE_*; bench/surge.py measures them)."""

    history_hours: float = 24.0
    half_life_hours: float = 6.0
    p_value: float = 0.001
    min_expected_per_hour: float = 0.5
    min_baseline_share: float = 0.1
    release_fraction: float = 0.5


@dataclass(frozen=True)
class WindowFigures:
    start: datetime
    end: datetime
    articles: int
    negatives: int

    @property
    def negative_share(self) -> float:
        return self.negatives / self.articles if self.articles else 0.0


@dataclass(frozen=True)
class Baseline:
    """The topic's usual W-long window, from its own history before the window."""

    negatives_per_window: float
    articles_per_window: float
    negative_share: float
    history_windows: int


@dataclass(frozen=True)
class SurgeVerdict:
    surging: bool  # state after this evaluation
    started: bool  # quiet -> surging at this evaluation
    ended: bool  # surging -> quiet at this evaluation
    window: WindowFigures
    baseline: Baseline
    expected_negatives: float
    surge_ratio: float  # window negatives / expected negatives
    p_value: float
    reason: str  # the first bar the window missed, or "surge"

    def as_evidence(self) -> dict:
        """JSON-ready figures for Alert.evidence."""
        return {
            "window_start": self.window.start.isoformat(),
            "window_end": self.window.end.isoformat(),
            "articles": self.window.articles,
            "negatives": self.window.negatives,
            "negative_share": round(self.window.negative_share, 4),
            "baseline_negatives_per_window": round(self.baseline.negatives_per_window, 4),
            "baseline_articles_per_window": round(self.baseline.articles_per_window, 4),
            "baseline_negative_share": round(self.baseline.negative_share, 4),
            "baseline_windows": self.baseline.history_windows,
            "expected_negatives": round(self.expected_negatives, 4),
            "surge_ratio": round(self.surge_ratio, 2),
            "p_value": float(f"{self.p_value:.3g}"),
        }


class TopicStream:
    """One topic's scored articles in time order, with prefix counts: any window in O(log n)."""

    def __init__(self, events: Iterable[tuple[datetime, bool]]) -> None:
        ordered = sorted((when.timestamp(), bool(negative)) for when, negative in events)
        self._seconds = np.array([s for s, _ in ordered], dtype=np.float64)
        # negatives_before[i] = negatives among the first i events
        self._negatives_before = np.concatenate(
            ([0], np.cumsum([n for _, n in ordered], dtype=np.int64))
        )

    def __len__(self) -> int:
        return len(self._seconds)

    def counts(self, edges_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Articles and negatives in each [edges[i], edges[i+1]) (epoch seconds, ascending)."""
        index = np.searchsorted(self._seconds, edges_s, side="left")
        articles = np.diff(index)
        negatives = np.diff(self._negatives_before[index])
        return articles, negatives

    def window(self, *, start: datetime, end: datetime) -> WindowFigures:
        articles, negatives = self.counts(np.array([start.timestamp(), end.timestamp()]))
        return WindowFigures(start, end, int(articles[0]), int(negatives[0]))


def baseline_estimate(
    stream: TopicStream, *, window_start: datetime, window_minutes: int, settings: SurgeSettings
) -> Baseline:
    """EWMA of the W-long windows before `window_start` (newest weighs most)."""
    window_s = window_minutes * 60.0
    count = max(1, int(settings.history_hours * 3600 // window_s))
    # edges oldest -> newest, the last one is the current window's start
    edges = window_start.timestamp() - window_s * np.arange(count, -1, -1, dtype=np.float64)
    articles, negatives = stream.counts(edges)
    half_life_windows = max(settings.half_life_hours * 3600 / window_s, 1e-9)
    ages = np.arange(count - 1, -1, -1, dtype=np.float64)  # 0 = the window just before
    weights = 0.5 ** (ages / half_life_windows)
    weights /= weights.sum()
    articles_mean = float(weights @ articles)
    negatives_mean = float(weights @ negatives)
    return Baseline(
        negatives_per_window=negatives_mean,
        articles_per_window=articles_mean,
        negative_share=negatives_mean / articles_mean if articles_mean else 0.0,
        history_windows=count,
    )


def surge_p_value(window: WindowFigures, *, expected: float, baseline_share: float) -> float:
    """How likely the window's negatives are by chance: the larger of two tail probabilities,
    so both must be small. Poisson: this many negatives when `expected` are usual (catches a
    rate jump). Binomial: this many negatives among the window's articles at the usual share
    (a busy day or the morning rise at the usual share is no surge)."""
    k = window.negatives
    if k == 0:
        return 1.0
    # scipy.special's tails are fast ufuncs: pdtrc(k-1, m) = P(X > k-1) = P(X >= k).
    rate_tail = float(pdtrc(k - 1, expected))
    share_tail = float(bdtrc(k - 1, window.articles, baseline_share))
    return max(rate_tail, share_tail)


def surge_evaluate(
    stream: TopicStream,
    *,
    now: datetime,
    rule: SurgeRule,
    was_surging: bool,
    settings: SurgeSettings = SurgeSettings(),  # noqa: B008 (frozen, safe to share)
) -> SurgeVerdict:
    """Is the topic surging at `now` under `rule`, given whether it was at the last look?"""
    start = now - timedelta(minutes=rule.window_minutes)
    window = stream.window(start=start, end=now)
    baseline = baseline_estimate(
        stream, window_start=start, window_minutes=rule.window_minutes, settings=settings
    )
    expected = max(
        baseline.negatives_per_window,
        settings.min_expected_per_hour * rule.window_minutes / 60.0,
    )
    ratio = window.negatives / expected
    baseline_share = min(max(baseline.negative_share, settings.min_baseline_share), 0.99)
    p_value = surge_p_value(window, expected=expected, baseline_share=baseline_share)

    # The bars the window must clear: full height to start a surge, release_fraction to stay.
    scale = settings.release_fraction if was_surging else 1.0
    bars = [
        ("volume", window.articles >= math.ceil(rule.min_articles * scale)),
        ("share", window.negative_share >= rule.negative_share_threshold * scale),
        ("rate", window.negatives >= rule.surge_factor * expected * scale),
    ]
    if not was_surging:
        bars.append(("significance", p_value <= settings.p_value))
    missed = next((name for name, cleared in bars if not cleared), None)
    surging = missed is None
    return SurgeVerdict(
        surging=surging,
        started=surging and not was_surging,
        ended=was_surging and not surging,
        window=window,
        baseline=baseline,
        expected_negatives=expected,
        surge_ratio=ratio,
        p_value=p_value,
        reason=missed or "surge",
    )

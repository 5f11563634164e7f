"""The pure surge detector: a burst fires, calm and thin traffic do not, a surge ends with
hysteresis, and each topic is judged against its own past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from apps.sentiment.surge import (
    SurgeRule,
    SurgeSettings,
    TopicStream,
    baseline_estimate,
    surge_evaluate,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
RULE = SurgeRule(window_minutes=15, min_articles=5, negative_share_threshold=0.5, surge_factor=2)


def calm(*, hours: int = 24, every_minutes: int = 20, negative_every: int = 5, end=NOW) -> list:
    """One article every `every_minutes` before `end`, every `negative_every`-th negative."""
    count = hours * 60 // every_minutes
    return [
        (end - timedelta(minutes=every_minutes * i), i % negative_every == 0)
        for i in range(1, count + 1)
    ]


def burst(*, negatives: int, neutral: int = 0, end=NOW, minutes: int = 10) -> list:
    step = minutes * 60 / max(negatives + neutral, 1)
    return [
        (end - timedelta(seconds=step * (i + 0.5)), i < negatives)
        for i in range(negatives + neutral)
    ]


def test_burst_of_negative_news_is_a_surge() -> None:
    stream = TopicStream(calm() + burst(negatives=8, neutral=2))
    verdict = surge_evaluate(stream, now=NOW, rule=RULE, was_surging=False)
    assert verdict.surging and verdict.started and not verdict.ended
    assert verdict.reason == "surge"
    assert (verdict.window.articles, verdict.window.negatives) == (10, 8)
    assert verdict.p_value < 0.01
    assert verdict.surge_ratio > 2


def test_calm_traffic_is_quiet() -> None:
    stream = TopicStream(calm())
    verdict = surge_evaluate(stream, now=NOW, rule=RULE, was_surging=False)
    assert not verdict.surging and not verdict.started


def test_one_negative_headline_on_a_quiet_topic_pages_no_one() -> None:
    stream = TopicStream(burst(negatives=1))
    verdict = surge_evaluate(stream, now=NOW, rule=RULE, was_surging=False)
    assert not verdict.surging
    assert verdict.reason == "volume"


def test_minimum_volume_is_the_rules() -> None:
    events = burst(negatives=4)
    quiet = surge_evaluate(TopicStream(events), now=NOW, rule=RULE, was_surging=False)
    assert (quiet.surging, quiet.reason) == (False, "volume")
    low_bar = SurgeRule(
        window_minutes=15, min_articles=4, negative_share_threshold=0.5, surge_factor=2
    )
    assert surge_evaluate(TopicStream(events), now=NOW, rule=low_bar, was_surging=False).surging


def test_busy_topic_with_mostly_neutral_news_is_not_a_surge() -> None:
    stream = TopicStream(burst(negatives=4, neutral=16))
    verdict = surge_evaluate(stream, now=NOW, rule=RULE, was_surging=False)
    assert (verdict.surging, verdict.reason) == (False, "share")


def test_a_topic_that_is_always_negative_is_judged_against_its_own_past() -> None:
    # Every 3 minutes a negative article, all day: 5 in any 15 minutes is its normal.
    always = [(NOW - timedelta(minutes=3 * i), True) for i in range(1, 24 * 20)]
    verdict = surge_evaluate(TopicStream(always), now=NOW, rule=RULE, was_surging=False)
    assert verdict.window.negative_share == 1.0
    assert verdict.baseline.negatives_per_window > 4.5
    assert (verdict.surging, verdict.reason) == (False, "rate")


def test_articles_after_now_do_not_count() -> None:
    stream = TopicStream(burst(negatives=8, end=NOW + timedelta(minutes=12)))
    verdict = surge_evaluate(stream, now=NOW, rule=RULE, was_surging=False)
    assert verdict.window.articles < 8
    assert not verdict.surging


def test_surge_keeps_firing_while_it_fades_then_ends() -> None:
    """Hysteresis: below the firing bar but above the release bar it stays a surge."""
    events = calm() + burst(negatives=8, neutral=2)
    stream = TopicStream(events)
    started = surge_evaluate(stream, now=NOW, rule=RULE, was_surging=False)
    assert started.started

    # 11 minutes later the window holds 4 negatives of 4: too few to fire, enough to stay.
    later = NOW + timedelta(minutes=11)
    fresh = surge_evaluate(stream, now=later, rule=RULE, was_surging=False)
    held = surge_evaluate(stream, now=later, rule=RULE, was_surging=True)
    assert not fresh.surging
    assert held.surging and not held.ended and not held.started

    # Once the burst has left the window it ends: this is the "resolved" moment.
    over = surge_evaluate(stream, now=NOW + timedelta(minutes=30), rule=RULE, was_surging=True)
    assert over.ended and not over.surging


def test_release_fraction_one_means_no_hysteresis() -> None:
    stream = TopicStream(calm() + burst(negatives=8, neutral=2))
    later = NOW + timedelta(minutes=11)
    strict = SurgeSettings(release_fraction=1.0)
    verdict = surge_evaluate(stream, now=later, rule=RULE, was_surging=True, settings=strict)
    assert verdict.ended


def test_share_test_holds_back_a_burst_the_count_alone_would_page() -> None:
    # A busy topic: 8 articles per 15 minutes, one in four negative (2 negatives usual).
    base = [(NOW - timedelta(seconds=112.5 * i), i % 4 == 0) for i in range(1, 24 * 32)]
    events = base + burst(negatives=8)
    verdict = surge_evaluate(TopicStream(events), now=NOW, rule=RULE, was_surging=False)
    assert (verdict.window.articles, verdict.window.negatives) == (16, 10)
    # 10 negatives when 2 are usual is a rare count, but 10 of 16 at a 25 % share is p ~ 0.002.
    assert (verdict.surging, verdict.reason) == (False, "significance")
    assert 0.001 < verdict.p_value < 0.01
    looser = SurgeSettings(p_value=0.01)
    assert surge_evaluate(
        TopicStream(events), now=NOW, rule=RULE, was_surging=False, settings=looser
    ).surging


def test_baseline_weighs_recent_windows_more() -> None:
    # Negative news all morning, none in the last 12 hours: the baseline has mostly forgotten.
    old = [(NOW - timedelta(hours=13, minutes=5 * i), True) for i in range(0, 120)]
    stream = TopicStream(old)
    settings = SurgeSettings(history_hours=24, half_life_hours=3)
    recent_heavy = baseline_estimate(stream, window_start=NOW, window_minutes=15, settings=settings)
    flat = baseline_estimate(
        stream, window_start=NOW, window_minutes=15, settings=SurgeSettings(half_life_hours=1e6)
    )
    assert recent_heavy.negatives_per_window < flat.negatives_per_window / 5
    assert flat.negatives_per_window > 0.8


def test_evidence_is_json_ready() -> None:
    stream = TopicStream(calm() + burst(negatives=8, neutral=2))
    evidence = surge_evaluate(stream, now=NOW, rule=RULE, was_surging=False).as_evidence()
    assert evidence["articles"] == 10
    assert evidence["negatives"] == 8
    assert evidence["window_end"] == NOW.isoformat()
    assert all(isinstance(v, int | float | str) for v in evidence.values())

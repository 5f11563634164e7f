"""Timelines bucket a topic's articles by sentiment, filter by source and mark alerts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.sentiment import selectors
from tests.sentiment.dashboard_helpers import fired_alert, scored_article
from tests.sentiment.factories import TopicFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 2, 12, 7, 30, tzinfo=UTC)


def test_each_range_has_whole_buckets_of_a_width_that_fits_it() -> None:
    widths = {}
    for key, time_range in selectors.TIME_RANGES.items():
        n = time_range.span / time_range.bucket
        assert n == int(n) and 24 <= n <= 100, key
        widths[key] = time_range.bucket
    assert widths["1h"] < widths["24h"] < widths["7d"] < widths["30d"]
    assert selectors.time_range_get(None).key == selectors.DEFAULT_RANGE
    with pytest.raises(KeyError, match="1h"):
        selectors.time_range_get("2y")


def test_24h_timeline_counts_each_sentiment_in_its_15_minute_bucket() -> None:
    topic, other = TopicFactory(), TopicFactory()
    at = datetime(2026, 3, 2, 11, 31, tzinfo=UTC)  # bucket 11:30
    for sentiment in ["negative", "negative", "negative", "positive", "neutral"]:
        scored_article(topic, published_at=at, sentiment=sentiment)
    scored_article(topic, published_at=at + timedelta(minutes=13), sentiment="positive")  # 11:30
    scored_article(topic, published_at=at + timedelta(minutes=14))  # 11:45, not scored yet
    scored_article(other, published_at=at, sentiment="negative")  # another topic
    scored_article(topic, published_at=NOW - timedelta(hours=30), sentiment="negative")  # too old

    timeline = selectors.topic_timeline(topic=topic, range_key="24h", now=NOW)

    assert len(timeline.buckets) == 96
    assert timeline.buckets[-1].start == datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    assert timeline.start == datetime(2026, 3, 1, 12, 15, tzinfo=UTC)
    by_start = {b.start: b for b in timeline.buckets}
    busy = by_start[datetime(2026, 3, 2, 11, 30, tzinfo=UTC)]
    assert (busy.positive, busy.neutral, busy.negative, busy.unscored) == (2, 1, 3, 0)
    assert busy.negative_share == pytest.approx(0.5)
    unscored = by_start[datetime(2026, 3, 2, 11, 45, tzinfo=UTC)]
    assert (unscored.scored, unscored.unscored, unscored.negative_share) == (0, 1, None)
    assert sum(b.scored + b.unscored for b in timeline.buckets) == 7


def test_7d_timeline_groups_by_hour_in_the_database_and_sums_two_hour_buckets() -> None:
    topic = TopicFactory()
    scored_article(topic, published_at=datetime(2026, 3, 1, 8, 5, tzinfo=UTC), sentiment="negative")
    scored_article(topic, published_at=datetime(2026, 3, 1, 9, 55, tzinfo=UTC), sentiment="neutral")
    scored_article(topic, published_at=datetime(2026, 3, 1, 10, 0, tzinfo=UTC), sentiment="neutral")

    timeline = selectors.topic_timeline(topic=topic, range_key="7d", now=NOW)

    assert len(timeline.buckets) == 84
    by_start = {b.start: b for b in timeline.buckets}
    assert (
        by_start[datetime(2026, 3, 1, 8, tzinfo=UTC)].negative,
        by_start[datetime(2026, 3, 1, 8, tzinfo=UTC)].neutral,
    ) == (1, 1)
    assert by_start[datetime(2026, 3, 1, 10, tzinfo=UTC)].neutral == 1


def test_source_filter_keeps_one_publisher_and_lists_the_others() -> None:
    topic = TopicFactory()
    at = NOW - timedelta(minutes=20)
    scored_article(topic, published_at=at, sentiment="negative", source_name="Wire A")
    scored_article(topic, published_at=at, sentiment="negative", source_name="Wire A")
    scored_article(topic, published_at=at, sentiment="positive", source_name="Wire B")

    everything = selectors.topic_timeline(topic=topic, range_key="1h", now=NOW)
    wire_a = selectors.topic_timeline(topic=topic, range_key="1h", source="Wire A", now=NOW)

    assert sum(b.scored for b in everything.buckets) == 3
    assert sum(b.negative for b in wire_a.buckets) == 2
    assert sum(b.positive for b in wire_a.buckets) == 0
    assert wire_a.sources == ["Wire A", "Wire B"]
    headlines = selectors.topic_negative_headlines(
        topic=topic, range_key="1h", source="Wire B", now=NOW
    )
    assert headlines == []


def test_alert_markers_are_the_topics_alerts_fired_in_range() -> None:
    topic, other = TopicFactory(), TopicFactory()
    inside = fired_alert(topic, fired_at=NOW - timedelta(hours=2))
    fired_alert(other, fired_at=NOW - timedelta(hours=2))
    fired_alert(topic, fired_at=NOW - timedelta(days=3), resolved_at=NOW - timedelta(days=2))

    timeline = selectors.topic_timeline(topic=topic, range_key="24h", now=NOW)

    assert [a.id for a in timeline.alerts] == [inside.id]
    assert timeline.alerts[0].state == "firing"
    assert timeline.to_dict()["alerts"][0]["fired_at"] == inside.fired_at.isoformat()


def test_negative_headlines_are_newest_first_and_only_negative() -> None:
    topic = TopicFactory()
    old = scored_article(topic, published_at=NOW - timedelta(hours=3), sentiment="negative")
    new = scored_article(topic, published_at=NOW - timedelta(hours=1), sentiment="negative")
    scored_article(topic, published_at=NOW - timedelta(minutes=5), sentiment="positive")

    headlines = selectors.topic_negative_headlines(topic=topic, range_key="24h", now=NOW)

    assert [h.article_id for h in headlines] == [new.id, old.id]
    assert headlines[0].url == new.url and headlines[0].p_negative == pytest.approx(0.8)


def test_overview_compares_the_last_hour_with_the_baseline_and_puts_firing_first(
    settings,  # noqa: ANN001
) -> None:
    settings.SENTIMENT_DASHBOARD_BASELINE_DAYS = 1
    calm, surging, _quiet = (
        TopicFactory(name="Calm"),
        TopicFactory(name="Surging"),
        TopicFactory(name="Quiet"),
    )
    TopicFactory(name="Switched off", active=False)
    for hours_ago in (3, 5, 7, 9):  # baseline: one negative in four
        for sentiment in ("negative", "positive", "neutral", "neutral"):
            scored_article(
                surging, published_at=NOW - timedelta(hours=hours_ago), sentiment=sentiment
            )
    for _ in range(6):
        scored_article(surging, published_at=NOW - timedelta(minutes=10), sentiment="negative")
    scored_article(surging, published_at=NOW - timedelta(minutes=10), sentiment="neutral")
    scored_article(surging, published_at=NOW - timedelta(minutes=10))  # not scored yet
    scored_article(calm, published_at=NOW - timedelta(minutes=30), sentiment="positive")
    fired_alert(surging, fired_at=NOW - timedelta(minutes=5))

    states = selectors.topics_overview(now=NOW)

    assert [s.topic.name for s in states] == ["Surging", "Calm", "Quiet"]
    top = states[0]
    assert (top.articles_last_hour, top.negative_last_hour, top.firing_alerts) == (8, 6, 1)
    assert top.negative_share_last_hour == pytest.approx(6 / 7)
    assert top.baseline_negative_share == pytest.approx(0.25)
    assert top.baseline_articles_per_hour == pytest.approx(16 / 24)
    assert top.share_vs_baseline == pytest.approx(6 / 7 - 0.25)
    assert states[2].articles_last_hour == 0 and states[2].negative_share_last_hour is None
    assert states[2].to_dict()["share_vs_baseline"] is None

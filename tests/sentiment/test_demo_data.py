"""The monitor's demo: topics, rule and subscriber load idempotently; the replayed news goes
through the real ingest, catches up only missing history and bursts about one topic."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from apps.core.demo import DemoContribution, demo_contributions, demo_environment, demo_processes
from apps.sentiment.demo_data import (
    DEMO_URL_PREFIX,
    HeadlineWriter,
    demo_replay_run,
    load_demo_monitor,
)
from apps.sentiment.ingest.services import articles_ingest
from apps.sentiment.models import AlertRule, Article, Subscription, Topic

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeClock:
    """Time moves only when the replay waits; the replay stops after `stop_after` seconds."""

    def __init__(self, now: datetime, stop_after_s: float):
        self.now = now
        self.stop_at = now + timedelta(seconds=stop_after_s)
        self.waits: list[datetime] = []

    def __call__(self) -> datetime:
        return self.now

    def wait_until(self, moment: datetime) -> bool:
        if moment > self.stop_at:
            return False
        self.waits.append(moment)
        self.now = max(self.now, moment)
        return True


def _replay(clock: FakeClock, *, seed: int, **plan: object) -> int:
    writer = HeadlineWriter.from_files(seed=seed)
    return demo_replay_run(
        writer=writer,
        plan=writer.plan(**plan),
        ingest=lambda rows: articles_ingest(rows, channel="demo", now=clock()),
        clock=clock,
        wait_until=clock.wait_until,
    )


def test_loading_twice_gives_the_same_topics_rule_and_subscriber() -> None:
    first = load_demo_monitor()
    second = load_demo_monitor()

    assert first.startswith("4 topics added") and second.startswith("0 topics added")
    assert set(Topic.objects.values_list("slug", flat=True)) == {
        "northwind-bank",
        "contoso-energy",
        "fabrikam-motors",
        "chip-supply",
    }
    assert Topic.objects.get(slug="northwind-bank").tickers == ["NWB"]
    rule = AlertRule.objects.get()
    assert rule.topic is None and rule.min_articles >= 2 and rule.active
    assert Subscription.objects.get().address == "risk-team@example.com"


def test_every_headline_names_its_topic_so_alias_matching_finds_it() -> None:
    writer = HeadlineWriter.from_files(seed=3)
    for topic in writer.topics:
        words = topic["aliases"] + topic["tickers"] + topic["keywords"]
        pattern = re.compile(r"\b(" + "|".join(map(re.escape, words)) + r")\b", re.IGNORECASE)
        for _ in range(60):
            row = writer.headline(START, topic)
            assert pattern.search(row["title"]), (topic["slug"], row["title"])
            assert row["url"].startswith(DEMO_URL_PREFIX)


def test_replay_ingests_history_then_the_burst_and_catches_up_only_what_is_missing() -> None:
    load_demo_monitor()
    clock = FakeClock(START, stop_after_s=120)

    sent = _replay(clock, seed=7, history_hours=6, articles_per_hour_per_topic=5, burst_after_s=20)

    history = Article.objects.filter(published_at__lt=START)
    assert history.count() == 4 * 6 * 5
    assert history.filter(published_at__lt=START - timedelta(hours=6)).count() == 0
    burst = Article.objects.filter(
        published_at__gte=START + timedelta(seconds=20),
        published_at__lte=START + timedelta(seconds=50),
        title__icontains="Northwind",
    )
    assert burst.count() >= 15
    assert set(burst.values_list("source_name", flat=True)) <= {
        "Market Wire",
        "Daily Ledger",
        "Finance Courier",
        "The Trading Desk",
        "Capital Times",
    }
    assert Article.objects.count() == sent
    assert clock.waits == sorted(clock.waits)  # released in time order

    # An hour later: only the missing hour is caught up, and a run without burst adds none.
    later = FakeClock(START + timedelta(hours=1), stop_after_s=0)
    before = Article.objects.count()
    added = _replay(later, seed=8, history_hours=6, articles_per_hour_per_topic=5, no_burst=True)
    assert Article.objects.count() - before == added
    assert 4 * 5 * 0.9 <= added <= 4 * 5 * 1.1  # about one hour at the plan's pace


def test_the_demo_runs_the_mailbox_and_the_news_and_sends_mail_to_it(settings) -> None:  # noqa: ANN001
    processes = demo_processes()
    assert processes["sentiment-mailbox"] == ("sentiment_mailbox",)
    assert processes["sentiment-news"] == ("sentiment_demo_replay",)
    assert demo_environment()["EMAIL_URL"] == (
        f"smtp://{settings.SENTIMENT_MAILBOX_HOST}:{settings.SENTIMENT_MAILBOX_PORT}"
    )
    sentiment = next(c for c in demo_contributions() if c.app == "sentiment")
    assert sentiment.training_tasks == ("sentiment.headline",)


def test_two_apps_asking_for_different_values_is_an_error(monkeypatch) -> None:  # noqa: ANN001
    from apps.core import demo

    clash = DemoContribution(app="zz-other", load_data=str, environment={"EMAIL_URL": "smtp://x"})
    monkeypatch.setitem(demo._contributions, "zz-other", clash)
    with pytest.raises(ValueError, match="EMAIL_URL"):
        demo_environment()

"""The demo's burst fires the demo rule for its topic within a minute, and nothing else fires.

The replayed stream goes through the real ingest, topic rules and alert evaluation. In place of
a trained model the articles carry the tone their template was written in (what a correct
model would say), so this checks the demo's data and rule, not a model's accuracy.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from apps.sentiment import selectors
from apps.sentiment.alerts.evaluation import alerts_evaluate
from apps.sentiment.demo_data import HeadlineWriter, demo_replay_run, load_demo_monitor
from apps.sentiment.ingest.services import articles_ingest
from apps.sentiment.models import Alert, Article, EmailOutbox, Topic, TopicMatch
from apps.sentiment.understanding.matching import rule_matches
from tests.sentiment.test_demo_data import FakeClock

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _score_and_match_as_written(writer: HeadlineWriter) -> None:
    topics = list(Topic.objects.filter(active=True))
    articles = list(Article.objects.filter(sentiment=""))
    for article in articles:
        article.sentiment = writer.intended_tones[article.url]
        article.confidence = 0.9
    Article.objects.bulk_update(articles, ["sentiment", "confidence"])
    found = rule_matches(topics, [(a.id, a.title, a.body) for a in articles])
    by_id = {a.id: a for a in articles}
    TopicMatch.objects.bulk_create(
        TopicMatch(
            article_id=article_id,
            topic_id=topic_id,
            method=reason.method,
            matched_text=reason.matched_text,
            published_at=by_id[article_id].published_at,
        )
        for (article_id, topic_id), reason in found.items()
    )


def test_the_burst_fires_one_alert_for_its_topic_within_a_minute() -> None:
    load_demo_monitor()
    writer = HeadlineWriter.from_files(seed=11)
    plan = writer.plan()  # the demo's own pace: 24 h of history, burst 20 s after start-up
    clock = FakeClock(START, stop_after_s=0)
    demo_replay_run(
        writer=writer,
        plan=plan,
        ingest=lambda rows: articles_ingest(rows, channel="demo", now=clock()),
        clock=clock,
        wait_until=clock.wait_until,
    )
    _score_and_match_as_written(writer)
    assert alerts_evaluate(now=START).fired == []  # everyday news pages no one

    clock.stop_at = START + timedelta(seconds=60)
    demo_replay_run(
        writer=writer,
        plan=plan,
        ingest=lambda rows: articles_ingest(rows, channel="demo", now=clock()),
        clock=clock,
        wait_until=clock.wait_until,
    )
    _score_and_match_as_written(writer)
    summary = alerts_evaluate(now=START + timedelta(seconds=60))

    alert = Alert.objects.get()
    assert summary.fired == [alert.id]
    assert alert.topic.slug == "northwind-bank"
    assert EmailOutbox.objects.get().to_address == "risk-team@example.com"
    page = selectors.topic_page(
        topic=alert.topic, range_key="1h", now=START + timedelta(seconds=60)
    )
    assert [a.id for a in page.timeline.alerts] == [alert.id]
    assert sum(b.negative for b in page.timeline.buckets) >= 15
    assert "Northwind" in page.negative_headlines[0].title

"""alerts_evaluate: a burst fires one alert with its evidence, saved with its emails queued;
calm topics, thin traffic and unscored articles fire nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model

from apps.sentiment.alerts import alerts_evaluate
from apps.sentiment.models import Alert, EmailOutbox, Sentiment, Subscription
from apps.sentiment.models.alerts import Severity
from tests.sentiment.alert_helpers import (
    NOW,
    articles_add,
    background_add,
    burst_add,
    rule_create,
)
from tests.sentiment.factories import TopicFactory

pytestmark = pytest.mark.django_db


def test_burst_fires_an_alert_with_evidence_and_queues_its_email() -> None:
    topic = TopicFactory(name="Acme Bank")
    background_add(topic, until=NOW - timedelta(minutes=15))
    burst_add(topic, end=NOW)
    worst = articles_add(
        topic,
        times=[NOW - timedelta(minutes=2)],
        sentiment=Sentiment.NEGATIVE,
        title="Acme Bank accused of fraud",
        p_negative=0.99,
    )[0]
    rule = rule_create(topic, severity=Severity.CRITICAL)
    Subscription.objects.create(email="risk@example.com")

    summary = alerts_evaluate(now=NOW)

    alert = Alert.objects.get()
    assert summary.fired == [alert.id]
    assert (alert.rule, alert.topic, alert.state) == (rule, topic, Alert.State.FIRING)
    assert alert.severity == Severity.CRITICAL
    assert alert.fired_at == NOW and alert.window_end == NOW
    assert alert.window_start == NOW - timedelta(minutes=15)
    evidence = alert.evidence
    assert (evidence["articles"], evidence["negatives"]) == (15, 13)
    assert evidence["baseline_negatives_per_window"] < 1
    assert evidence["rule"]["window_minutes"] == 15
    headlines = evidence["headlines"]
    assert headlines[0]["title"] == "Acme Bank accused of fraud"
    assert headlines[0]["url"] == worst.url
    assert len(headlines) == 5
    email = EmailOutbox.objects.get()
    assert (email.alert, email.kind, email.to_address) == (alert, "fired", "risk@example.com")
    assert email.status == EmailOutbox.Status.PENDING
    assert "Acme Bank" in email.subject and "critical" in email.subject
    assert "Acme Bank accused of fraud" in email.body_text
    assert worst.url in email.body_html
    assert email.message_id.startswith("<tessera.alert.")


def test_firing_alert_is_not_fired_again_on_the_next_evaluation() -> None:
    topic = TopicFactory()
    burst_add(topic, end=NOW)
    rule_create(topic)
    Subscription.objects.create(email="risk@example.com")
    alerts_evaluate(now=NOW)
    again = alerts_evaluate(now=NOW + timedelta(minutes=1))
    assert again.fired == [] and again.emails == 0
    assert Alert.objects.count() == 1
    assert EmailOutbox.objects.count() == 1


def test_calm_topic_fires_nothing() -> None:
    topic = TopicFactory()
    background_add(topic, until=NOW, every_minutes=5)
    rule_create(topic)
    assert alerts_evaluate(now=NOW).fired == []
    assert not Alert.objects.exists()


def test_unscored_articles_wait_for_their_sentiment() -> None:
    topic = TopicFactory()
    articles_add(topic, times=[NOW - timedelta(minutes=m) for m in range(1, 13)], sentiment="")
    rule_create(topic)
    assert alerts_evaluate(now=NOW).fired == []


def test_rule_for_every_topic_only_fires_where_the_burst_is() -> None:
    quiet, loud = TopicFactory(), TopicFactory()
    background_add(quiet, until=NOW)
    burst_add(loud, end=NOW)
    rule_create(None)
    alerts_evaluate(now=NOW)
    assert list(Alert.objects.values_list("topic", flat=True)) == [loud.id]


def test_inactive_rules_and_topics_are_skipped() -> None:
    sleeping_topic = TopicFactory(active=False)
    burst_add(sleeping_topic, end=NOW)
    rule_create(sleeping_topic)
    topic = TopicFactory()
    burst_add(topic, end=NOW)
    rule_create(topic, active=False)
    assert alerts_evaluate(now=NOW).fired == []


def test_subscriptions_choose_topics_severity_and_people() -> None:
    topic, other = TopicFactory(), TopicFactory()
    burst_add(topic, end=NOW)
    rule_create(topic, severity=Severity.WARNING)
    everything = Subscription.objects.create(email="all@example.com")
    mine = Subscription.objects.create(email="mine@example.com")
    mine.topics.add(topic)
    not_mine = Subscription.objects.create(email="other@example.com")
    not_mine.topics.add(other)
    Subscription.objects.create(email="critical-only@example.com", min_severity=Severity.CRITICAL)
    Subscription.objects.create(email="off@example.com", active=False)
    user = get_user_model().objects.create_user("ana", email="Ana@Example.com")
    Subscription.objects.create(user=user)
    Subscription.objects.create(email="ana@example.com")  # same person twice: one email
    assert everything.address and mine.address

    alerts_evaluate(now=NOW)

    assert sorted(EmailOutbox.objects.values_list("to_address", flat=True)) == [
        "all@example.com",
        "ana@example.com",
        "mine@example.com",
    ]


def test_topic_filter_evaluates_only_those_topics() -> None:
    first, second = TopicFactory(), TopicFactory()
    burst_add(first, end=NOW)
    burst_add(second, end=NOW)
    rule_create(None)
    alerts_evaluate(now=NOW, topic_ids=[second.id])
    assert list(Alert.objects.values_list("topic", flat=True)) == [second.id]


def test_headline_links_are_web_links_only() -> None:
    topic = TopicFactory()
    burst_add(topic, end=NOW)
    bad = articles_add(
        topic, times=[NOW - timedelta(minutes=1)], sentiment=Sentiment.NEGATIVE, p_negative=0.999
    )[0]
    bad.url = "javascript:alert(1)"
    bad.save()
    rule_create(topic)
    alerts_evaluate(now=NOW)
    headlines = Alert.objects.get().evidence["headlines"]
    assert headlines[0]["article_id"] == bad.id and headlines[0]["url"] == ""
    assert all(h["url"].startswith("https://") for h in headlines[1:])

"""No repeat for the same topic and rule within the cooldown; after it, a new surge alerts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.sentiment.alerts import alerts_evaluate
from apps.sentiment.models import Alert, EmailOutbox, Subscription
from tests.sentiment.alert_helpers import NOW, background_add, burst_add, rule_create
from tests.sentiment.factories import TopicFactory

pytestmark = pytest.mark.django_db


def _second_burst_at(minutes_after: int) -> tuple[int, int]:
    topic = TopicFactory()
    rule_create(topic, cooldown_minutes=60)
    Subscription.objects.create(email="desk@example.com")
    background_add(topic, until=NOW + timedelta(hours=2), hours=26, every_minutes=10)
    burst_add(topic, end=NOW)
    alerts_evaluate(now=NOW)
    resolved = alerts_evaluate(now=NOW + timedelta(minutes=30))  # burst over: resolved
    assert len(resolved.resolved) == 1
    second = NOW + timedelta(minutes=minutes_after)
    burst_add(topic, end=second, negatives=20)  # bigger: the first one raised the baseline
    summary = alerts_evaluate(now=second)
    return len(summary.fired), summary.suppressed


def test_new_surge_within_cooldown_is_not_alerted() -> None:
    assert _second_burst_at(45) == (0, 1)
    assert Alert.objects.count() == 1
    assert EmailOutbox.objects.filter(kind="fired").count() == 1


def test_new_surge_after_cooldown_is_alerted() -> None:
    assert _second_burst_at(75) == (1, 0)
    assert Alert.objects.count() == 2
    assert EmailOutbox.objects.filter(kind="fired").count() == 2


def test_cooldown_is_per_rule() -> None:
    topic = TopicFactory()
    fast = rule_create(topic, cooldown_minutes=0)
    slow = rule_create(topic, cooldown_minutes=600)
    background_add(topic, until=NOW + timedelta(hours=2), hours=26, every_minutes=10)
    burst_add(topic, end=NOW)
    alerts_evaluate(now=NOW)
    alerts_evaluate(now=NOW + timedelta(minutes=30))
    burst_add(topic, end=NOW + timedelta(minutes=60), negatives=20)
    alerts_evaluate(now=NOW + timedelta(minutes=60))
    assert Alert.objects.filter(rule=fast).count() == 2
    assert Alert.objects.filter(rule=slow).count() == 1

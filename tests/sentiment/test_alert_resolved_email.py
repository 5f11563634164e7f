"""When the surge ends the alert resolves and subscribers get one "resolved" email."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.sentiment.alerts import alerts_evaluate
from apps.sentiment.models import Alert, EmailOutbox, Subscription
from tests.sentiment.alert_helpers import NOW, background_add, burst_add, rule_create
from tests.sentiment.factories import TopicFactory

pytestmark = pytest.mark.django_db


def test_surge_end_resolves_the_alert_and_emails_once() -> None:
    topic = TopicFactory(name="Gamma Mining")
    background_add(topic, until=NOW - timedelta(minutes=15))
    burst_add(topic, end=NOW)
    rule_create(topic)
    Subscription.objects.create(email="desk@example.com")
    alerts_evaluate(now=NOW)

    # Still inside the burst's tail (hysteresis): nothing resolves yet.
    assert alerts_evaluate(now=NOW + timedelta(minutes=5)).resolved == []
    summary = alerts_evaluate(now=NOW + timedelta(minutes=30))
    alert = Alert.objects.get()
    assert summary.resolved == [alert.id]
    assert alert.state == Alert.State.RESOLVED
    assert alert.resolved_at == NOW + timedelta(minutes=30)
    assert alert.evidence["resolved"]["negatives"] < alert.evidence["negatives"]
    resolved = EmailOutbox.objects.get(kind="resolved")
    assert resolved.to_address == "desk@example.com"
    assert resolved.subject.startswith("[warning] resolved: Gamma Mining")
    assert "Resolved" in resolved.body_text

    alerts_evaluate(now=NOW + timedelta(minutes=31))
    assert EmailOutbox.objects.filter(kind="resolved").count() == 1

"""An alert that keeps firing unacknowledged reminds once per cooldown, a few times at most;
the signed acknowledge link stops the reminders."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client

from apps.sentiment.alerts import acknowledge_token, alerts_evaluate
from apps.sentiment.models import Alert, EmailOutbox, Sentiment, Subscription
from tests.sentiment.alert_helpers import NOW, articles_add, background_add, rule_create
from tests.sentiment.factories import TopicFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def long_surge() -> Alert:
    """Negative news every minute from 10 minutes before NOW to 4 hours after, fired at NOW."""
    topic = TopicFactory(name="Zeta Pharma")
    background_add(topic, until=NOW - timedelta(minutes=10))
    articles_add(
        topic,
        times=[NOW + timedelta(minutes=m) for m in range(-10, 240)],
        sentiment=Sentiment.NEGATIVE,
    )
    rule_create(topic, cooldown_minutes=60)
    Subscription.objects.create(email="desk@example.com")
    alerts_evaluate(now=NOW)
    return Alert.objects.get()


def _reminders() -> list[tuple[int, str]]:
    return list(
        EmailOutbox.objects.filter(kind="reminder")
        .order_by("sequence")
        .values_list("sequence", "subject")
    )


def test_reminder_once_per_cooldown_while_it_keeps_firing(long_surge: Alert, settings) -> None:  # noqa: ANN001
    settings.SENTIMENT_ALERT_MAX_REMINDERS = 2
    assert alerts_evaluate(now=NOW + timedelta(minutes=59)).reminded == []
    assert alerts_evaluate(now=NOW + timedelta(minutes=60)).reminded == [long_surge.id]
    assert alerts_evaluate(now=NOW + timedelta(minutes=61)).reminded == []
    alerts_evaluate(now=NOW + timedelta(minutes=120))
    alerts_evaluate(now=NOW + timedelta(minutes=180))  # the cap: 2 reminders
    reminders = _reminders()
    assert [sequence for sequence, _ in reminders] == [1, 2]
    assert "still surging (reminder 1): Zeta Pharma" in reminders[0][1]
    long_surge.refresh_from_db()
    assert long_surge.state == Alert.State.FIRING and long_surge.reminders_sent == 2
    first = EmailOutbox.objects.get(kind="reminder", sequence=1)
    assert "Now: 15 negative of 15 articles" in first.body_text
    assert first.message_id != EmailOutbox.objects.get(kind="fired").message_id


def test_acknowledge_link_stops_the_reminders(long_surge: Alert, client: Client) -> None:
    token = acknowledge_token(alert_id=long_surge.id, address="desk@example.com")
    assert client.post(f"/sentiment/alerts/acknowledge/{token}/").status_code == 200
    for minutes in (60, 120, 180):
        assert alerts_evaluate(now=NOW + timedelta(minutes=minutes)).reminded == []
    assert _reminders() == []
    # It still resolves, and the resolved email says who acknowledged it.
    alerts_evaluate(now=NOW + timedelta(minutes=300))
    resolved = EmailOutbox.objects.get(kind="resolved")
    assert "acknowledged by desk@example.com" in resolved.body_text


def test_rule_without_cooldown_never_reminds(long_surge: Alert) -> None:
    long_surge.rule.cooldown_minutes = 0
    long_surge.rule.save()
    assert alerts_evaluate(now=NOW + timedelta(minutes=90)).reminded == []

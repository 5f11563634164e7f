"""One rule and window fire one grouped email per subscriber, however many topics surge and
however many articles the burst has."""

from __future__ import annotations

import pytest

from apps.sentiment.alerts import alerts_evaluate
from apps.sentiment.models import Alert, EmailOutbox, Subscription
from tests.sentiment.alert_helpers import NOW, burst_add, rule_create
from tests.sentiment.factories import TopicFactory

pytestmark = pytest.mark.django_db


def test_two_topics_surging_under_one_rule_make_one_email_each_subscriber() -> None:
    alpha, beta = TopicFactory(name="Alpha Corp"), TopicFactory(name="Beta Holdings")
    burst_add(alpha, end=NOW, negatives=30)
    burst_add(beta, end=NOW)
    rule_create(None, name="Any topic, 15 min")
    Subscription.objects.create(email="desk@example.com")
    follows_beta = Subscription.objects.create(email="beta-watcher@example.com")
    follows_beta.topics.add(beta)

    alerts_evaluate(now=NOW)

    assert Alert.objects.count() == 2
    desk = EmailOutbox.objects.get(to_address="desk@example.com")
    assert "Alpha Corp" in desk.subject and "Beta Holdings" in desk.subject
    assert "== Alpha Corp ==" in desk.body_text and "== Beta Holdings ==" in desk.body_text
    assert desk.body_text.count("/sentiment/alerts/acknowledge/") == 2  # a link per alert
    watcher = EmailOutbox.objects.get(to_address="beta-watcher@example.com")
    assert "Beta Holdings" in watcher.subject and "Alpha Corp" not in watcher.body_text
    assert EmailOutbox.objects.count() == 2


def test_two_rules_with_different_windows_each_send_their_own_email() -> None:
    topic = TopicFactory()
    burst_add(topic, end=NOW)
    rule_create(topic, window_minutes=15)
    rule_create(topic, window_minutes=60)
    Subscription.objects.create(email="desk@example.com")
    alerts_evaluate(now=NOW)
    assert EmailOutbox.objects.filter(to_address="desk@example.com").count() == 2
    assert sorted(Alert.objects.values_list("rule__window_minutes", flat=True)) == [15, 60]

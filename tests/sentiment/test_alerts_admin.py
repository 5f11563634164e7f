"""Admin: an alert shows its evidence readably; failed emails are visible and can be retried."""

from __future__ import annotations

import pytest
from django.test import Client

from apps.sentiment.alerts import alerts_evaluate
from apps.sentiment.models import Alert, EmailOutbox, Subscription
from tests.sentiment.alert_helpers import NOW, burst_add, rule_create
from tests.sentiment.factories import TopicFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert() -> Alert:
    topic = TopicFactory(name="Sigma Telecom")
    burst_add(topic, end=NOW)
    rule_create(topic, name="Sigma 15 min")
    Subscription.objects.create(email="desk@example.com")
    alerts_evaluate(now=NOW)
    return Alert.objects.get()


def test_alert_page_shows_figures_headlines_and_emails(alert: Alert, admin_client: Client) -> None:
    page = admin_client.get(f"/admin/sentiment/alert/{alert.id}/change/")
    assert page.status_code == 200
    content = page.content.decode()
    assert "negative articles" in content and "Poisson p-value" in content
    assert "Sigma Telecom faces probe" in content
    assert alert.evidence["headlines"][0]["url"] in content
    assert "desk@example.com" in content  # the outbox inline
    listing = admin_client.get("/admin/sentiment/alert/")
    assert listing.status_code == 200 and "12 / 14" in listing.content.decode()


def test_acknowledge_action_records_the_admin(alert: Alert, admin_client: Client) -> None:
    admin_client.post(
        "/admin/sentiment/alert/",
        {"action": "acknowledge", "_selected_action": [alert.id]},
    )
    alert.refresh_from_db()
    assert alert.acknowledged_by == "admin" and alert.acknowledged_at is not None


def test_failed_email_is_listed_and_retry_queues_it(alert: Alert, admin_client: Client) -> None:
    email = EmailOutbox.objects.get()
    email.status = EmailOutbox.Status.FAILED
    email.attempts = 8
    email.last_error = "SMTPServerDisconnected: Connection unexpectedly closed"
    email.save()
    listing = admin_client.get("/admin/sentiment/emailoutbox/?status__exact=failed")
    assert listing.status_code == 200
    assert "failed (gave up)" in listing.content.decode()
    assert "Connection unexpectedly closed" in listing.content.decode()

    admin_client.post(
        "/admin/sentiment/emailoutbox/",
        {"action": "retry", "_selected_action": [email.id]},
    )
    email.refresh_from_db()
    assert (email.status, email.attempts, email.next_attempt_at) == ("pending", 0, None)


def test_rule_and_subscription_forms_render(admin_client: Client) -> None:
    for path in ("/admin/sentiment/alertrule/add/", "/admin/sentiment/subscription/add/"):
        assert admin_client.get(path).status_code == 200

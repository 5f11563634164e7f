"""Against a real SMTP server: an outage mid-alert delays the email, never loses or doubles it;
retries back off exponentially and give up after N attempts, visibly."""

from __future__ import annotations

from datetime import timedelta

import pytest

from apps.sentiment.alerts import alerts_evaluate, outbox_flush, outbox_retry
from apps.sentiment.mailbox import MaildirHandler
from apps.sentiment.models import Alert, EmailOutbox, Subscription
from tests.sentiment.alert_helpers import (  # noqa: F401 (fixture)
    NOW,
    burst_add,
    rule_create,
    smtp_server,
)
from tests.sentiment.factories import TopicFactory

pytestmark = pytest.mark.django_db


def _alert_with_subscribers(*addresses: str) -> Alert:
    topic = TopicFactory(name="Delta Airlines")
    burst_add(topic, end=NOW)
    rule_create(topic)
    for address in addresses:
        Subscription.objects.create(email=address)
    alerts_evaluate(now=NOW)
    return Alert.objects.get()


def test_server_down_mid_alert_then_back_delivers_exactly_once(smtp_server, settings) -> None:  # noqa: F811
    settings.SENTIMENT_OUTBOX_BACKOFF_S = 15
    smtp_server.stop()  # the alert fires while the mail server is down
    alert = _alert_with_subscribers("desk@example.com")
    row = EmailOutbox.objects.get()
    assert alert.state == Alert.State.FIRING  # saved before any email could go

    first = outbox_flush(now=NOW)
    row.refresh_from_db()
    assert (first.sent, first.retrying) == (0, 1)
    assert row.status == EmailOutbox.Status.PENDING and row.attempts == 1
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()
    assert row.next_attempt_at == NOW + timedelta(seconds=15)

    smtp_server.start()
    assert outbox_flush(now=NOW + timedelta(seconds=5)).sent == 0  # still backing off
    assert smtp_server.messages() == []

    assert outbox_flush(now=NOW + timedelta(seconds=15)).sent == 1
    assert outbox_flush(now=NOW + timedelta(minutes=5)).sent == 0
    received = smtp_server.messages()
    assert len(received) == 1
    assert received[0].message_id == row.message_id
    assert received[0].to_address == "desk@example.com"
    assert "Delta Airlines" in received[0].subject
    assert "Delta Airlines" in received[0].html and "Delta Airlines" in received[0].text
    row.refresh_from_db()
    assert row.status == EmailOutbox.Status.SENT and row.attempts == 2
    assert row.sent_at == NOW + timedelta(seconds=15)


def test_outage_stops_the_batch_and_the_rest_follow_later(smtp_server) -> None:  # noqa: F811
    smtp_server.stop()
    _alert_with_subscribers("a@example.com", "b@example.com", "c@example.com")
    summary = outbox_flush(now=NOW)
    assert (summary.sent, summary.retrying) == (0, 1)  # one try, then it stops: server gone
    assert sorted(EmailOutbox.objects.values_list("attempts", flat=True)) == [0, 0, 1]
    smtp_server.start()
    assert outbox_flush(now=NOW + timedelta(hours=1)).sent == 3
    assert sorted(m.to_address for m in smtp_server.messages()) == [
        "a@example.com",
        "b@example.com",
        "c@example.com",
    ]


def test_backoff_doubles_then_gives_up_and_admin_can_retry(smtp_server, settings) -> None:  # noqa: F811
    settings.SENTIMENT_OUTBOX_BACKOFF_S = 10
    settings.SENTIMENT_OUTBOX_MAX_ATTEMPTS = 4
    smtp_server.stop()
    _alert_with_subscribers("desk@example.com")
    row = EmailOutbox.objects.get()
    clock = NOW
    waits = []
    for _ in range(4):
        outbox_flush(now=clock)
        row.refresh_from_db()
        if row.next_attempt_at is None:
            break
        waits.append((row.next_attempt_at - clock).total_seconds())
        clock = row.next_attempt_at
    assert waits == [10, 20, 40]
    assert row.status == EmailOutbox.Status.FAILED and row.attempts == 4
    assert outbox_flush(now=clock + timedelta(days=1)).sent == 0  # gave up: not retried

    smtp_server.start()
    assert outbox_retry(ids=[row.id]) == 1
    assert outbox_flush(now=clock + timedelta(days=1)).sent == 1
    assert len(smtp_server.messages()) == 1


class RefusingHandler(MaildirHandler):
    """Refuses one mailbox (550) like a real server for an unknown user."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        if address.startswith("gone@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_refused_recipient_does_not_hold_back_the_others(smtp_server) -> None:  # noqa: F811
    smtp_server.controller.handler = RefusingHandler(smtp_server.maildir)
    _alert_with_subscribers("gone@example.com", "desk@example.com")
    summary = outbox_flush(now=NOW)
    assert (summary.sent, summary.retrying) == (1, 1)
    refused = EmailOutbox.objects.get(to_address="gone@example.com")
    assert refused.status == EmailOutbox.Status.PENDING and "550" in refused.last_error
    assert [m.to_address for m in smtp_server.messages()] == ["desk@example.com"]

"""The signed acknowledge link: GET asks, POST records who and when; a bad or altered link
gets a 400 page and changes nothing."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.test import Client

from apps.sentiment.alerts import acknowledge_token, alerts_evaluate
from apps.sentiment.models import Alert, EmailOutbox, Subscription
from tests.sentiment.alert_helpers import NOW, burst_add, rule_create
from tests.sentiment.factories import TopicFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def fired() -> Alert:
    topic = TopicFactory(name="Epsilon Energy")
    burst_add(topic, end=NOW)
    rule_create(topic)
    Subscription.objects.create(email="desk@example.com")
    alerts_evaluate(now=NOW)
    return Alert.objects.get()


def _ack_path(email: EmailOutbox) -> str:
    return re.search(r"https?://[^/\s]+(/sentiment/alerts/acknowledge/[^\s]+/)", email.body_text)[1]


def test_link_from_the_email_acknowledges_on_confirm(fired: Alert, client: Client) -> None:
    path = _ack_path(EmailOutbox.objects.get())
    page = client.get(path)
    assert page.status_code == 200
    assert b"Epsilon Energy" in page.content and b'id="ack-form"' in page.content
    fired.refresh_from_db()
    assert fired.acknowledged_at is None  # a prefetching mail scanner acknowledges nothing

    done = client.post(path)
    assert done.status_code == 200
    assert b"acknowledged" in done.content
    fired.refresh_from_db()
    assert fired.acknowledged_by == "desk@example.com"
    assert fired.acknowledged_at is not None


def test_logged_in_user_is_recorded_and_first_acknowledgement_wins(
    fired: Alert, client: Client
) -> None:
    client.force_login(get_user_model().objects.create_user("ana"))
    path = (
        f"/sentiment/alerts/acknowledge/{acknowledge_token(alert_id=fired.id, address='x@e.com')}/"
    )
    client.post(path)
    client.logout()
    again = client.post(path)
    fired.refresh_from_db()
    assert fired.acknowledged_by == "ana"
    assert b"Already acknowledged" in again.content


def test_altered_link_is_refused_with_400(fired: Alert, client: Client) -> None:
    token = acknowledge_token(alert_id=fired.id, address="desk@example.com")
    forged = signing.dumps({"alert": fired.id, "to": "desk@example.com"}, salt="other-salt")
    for bad in (token[:-2] + "xx", forged, "not-a-token"):
        response = client.post(f"/sentiment/alerts/acknowledge/{bad}/")
        assert response.status_code == 400
        assert b'data-code="ack_link_invalid"' in response.content
    fired.refresh_from_db()
    assert fired.acknowledged_at is None


def test_expired_link_is_refused(fired: Alert, client: Client, monkeypatch) -> None:  # noqa: ANN001
    real_time = time.time()
    with monkeypatch.context() as patch:  # a link mailed 15 days ago (max age: 14)
        patch.setattr(signing.time, "time", lambda: real_time - 15 * 86400)
        token = acknowledge_token(alert_id=fired.id, address="desk@example.com")
    response = client.post(f"/sentiment/alerts/acknowledge/{token}/")
    assert response.status_code == 400
    assert b'data-code="ack_link_expired"' in response.content
    fired.refresh_from_db()
    assert fired.acknowledged_at is None


def test_link_to_a_deleted_alert_is_404(fired: Alert, client: Client) -> None:
    token = acknowledge_token(alert_id=fired.id, address="desk@example.com")
    fired.delete()
    assert client.get(f"/sentiment/alerts/acknowledge/{token}/").status_code == 404

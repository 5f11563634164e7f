"""The demo mailbox page: staff see every message the SMTP server kept, HTML body included;
nobody else does."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils.html import escape

from apps.sentiment.alerts import alerts_evaluate, outbox_flush
from apps.sentiment.models import Subscription
from tests.sentiment.alert_helpers import (  # noqa: F401 (fixture)
    NOW,
    burst_add,
    rule_create,
    smtp_server,
)
from tests.sentiment.factories import TopicFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def alert_mail(smtp_server):  # noqa: ANN001, ANN201, F811
    topic = TopicFactory(name="Omicron Retail")
    burst_add(topic, end=NOW)
    rule_create(topic)
    Subscription.objects.create(email="desk@example.com")
    alerts_evaluate(now=NOW)
    assert outbox_flush(now=NOW).sent == 1
    return smtp_server.messages()[0]


def test_staff_read_the_alert_email_with_its_html(alert_mail, admin_client: Client) -> None:  # noqa: ANN001
    listing = admin_client.get("/sentiment/mailbox/")
    assert listing.status_code == 200
    assert b"Omicron Retail" in listing.content and b"desk@example.com" in listing.content

    detail = admin_client.get(f"/sentiment/mailbox/{alert_mail.key}/")
    assert detail.status_code == 200
    assert escape(alert_mail.message_id).encode() in detail.content
    assert f"/sentiment/mailbox/{alert_mail.key}/html/".encode() in detail.content

    html = admin_client.get(f"/sentiment/mailbox/{alert_mail.key}/html/")
    assert html.status_code == 200
    assert html["Content-Type"].startswith("text/html")
    assert html["Content-Security-Policy"].startswith("sandbox")
    assert html["X-Frame-Options"] == "SAMEORIGIN"
    assert b"Omicron Retail" in html.content and b"acknowledge" in html.content


def test_unknown_message_is_404(alert_mail, admin_client: Client) -> None:  # noqa: ANN001
    assert admin_client.get("/sentiment/mailbox/no-such-key/").status_code == 404
    assert admin_client.get("/sentiment/mailbox/no-such-key/html/").status_code == 404


def test_empty_mailbox_says_so(admin_client: Client, settings, tmp_path) -> None:  # noqa: ANN001
    settings.SENTIMENT_MAILBOX_DIR = str(tmp_path / "never-created")
    response = admin_client.get("/sentiment/mailbox/")
    assert response.status_code == 200 and b"No mail yet." in response.content


def test_non_staff_are_sent_to_log_in(alert_mail, client: Client) -> None:  # noqa: ANN001
    for path in ("/sentiment/mailbox/", f"/sentiment/mailbox/{alert_mail.key}/html/"):
        assert client.get(path).status_code == 302
    client.force_login(get_user_model().objects.create_user("customer"))
    response = client.get("/sentiment/mailbox/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

"""In Chromium: staff open the alert email in the mailbox page (HTML in its sandboxed frame)
and follow its acknowledge link to record who is on it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chat.conftest import LiveServer, ws_browser, ws_chromium, ws_server_env  # noqa: F401
from tests.sentiment.alert_helpers import (  # noqa: F401 (fixture)
    NOW,
    burst_add,
    rule_create,
    smtp_server,
)
from tests.sentiment.factories import TopicFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "mailbox-test-password"


@pytest.fixture
def mailbox_server(
    ws_chromium: Path,  # noqa: F811
    smtp_server,  # noqa: ANN001, F811
    artifacts_dir: Path,
    tmp_path: Path,
) -> Iterator[LiveServer]:
    env = {**ws_server_env(artifacts_dir), "SENTIMENT_MAILBOX_DIR": str(smtp_server.maildir)}
    server = LiveServer(env, tmp_path / "daphne.log")
    server.start()
    yield server
    server.stop()


def test_staff_read_the_alert_email_and_acknowledge_it(mailbox_server, ws_browser) -> None:  # noqa: ANN001, F811
    from django.contrib.auth import get_user_model
    from playwright.sync_api import expect

    from apps.sentiment.alerts import alerts_evaluate, outbox_flush
    from apps.sentiment.models import Alert, Subscription

    get_user_model().objects.create_superuser("risklead", "lead@example.com", PASSWORD)
    topic = TopicFactory(name="Omega Shipping")
    burst_add(topic, end=NOW)
    rule_create(topic)
    Subscription.objects.create(email="desk@example.com")
    alerts_evaluate(now=NOW)
    assert outbox_flush(now=NOW).sent == 1

    page = ws_browser.new_page()
    page.goto(f"{mailbox_server.url}/sentiment/mailbox/")
    page.fill("#id_username", "risklead")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/sentiment/mailbox/")
    page.get_by_role("link", name=re.compile("Omega Shipping")).click()

    frame = page.frame_locator("iframe[title='HTML body']")
    expect(frame.locator("h2")).to_have_text("Omega Shipping")
    expect(frame.locator("ol li").first).to_contain_text("Omega Shipping faces probe")
    ack = frame.get_by_role("link", name=re.compile("acknowledge"))
    href = ack.get_attribute("href")
    path = re.sub(r"^https?://[^/]+", "", href)  # the email links to the configured origin

    page.goto(f"{mailbox_server.url}{path}")
    page.get_by_role("button", name=re.compile("acknowledge")).click()
    expect(page.locator("#ack-status")).to_contain_text("acknowledged by risklead")
    alert = Alert.objects.get()
    assert alert.acknowledged_by == "risklead" and alert.acknowledged_at is not None

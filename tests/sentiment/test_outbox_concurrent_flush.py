"""Two flushers at once never send an email twice: a row being sent is locked and skipped."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db import connection

from apps.sentiment.alerts import alerts_evaluate, outbox_flush
from apps.sentiment.mailbox import MaildirHandler
from apps.sentiment.models import EmailOutbox, Subscription
from tests.sentiment.alert_helpers import (  # noqa: F401 (fixture)
    NOW,
    burst_add,
    rule_create,
    smtp_server,
)
from tests.sentiment.factories import TopicFactory

pytestmark = pytest.mark.django_db(transaction=True)


class HoldFirstHandler(MaildirHandler):
    """Keeps the first message's DATA waiting until released (the event loop stays free)."""

    def __init__(self, path) -> None:  # noqa: ANN001
        super().__init__(path)
        self.entered = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        if not self.entered.is_set():
            self.entered.set()
            while not self.release.is_set():
                await asyncio.sleep(0.01)
        return await super().handle_DATA(server, session, envelope)


def test_concurrent_flushers_send_each_email_once(smtp_server, settings) -> None:  # noqa: F811
    settings.EMAIL_TIMEOUT = 60
    handler = HoldFirstHandler(smtp_server.maildir)
    smtp_server.controller.handler = handler
    topic = TopicFactory()
    burst_add(topic, end=NOW)
    rule_create(topic)
    addresses = [f"person{i}@example.com" for i in range(6)]
    for address in addresses:
        Subscription.objects.create(email=address)
    alerts_evaluate(now=NOW)
    assert EmailOutbox.objects.count() == 6

    results = {}

    def first_flusher() -> None:
        try:
            results["first"] = outbox_flush(now=NOW)
        finally:
            connection.close()

    thread = threading.Thread(target=first_flusher)
    thread.start()
    assert handler.entered.wait(timeout=60)  # the first flusher is mid-send, row locked
    results["second"] = outbox_flush(now=NOW)
    handler.release.set()
    thread.join(timeout=60)

    assert results["first"].sent == 1
    assert results["second"].sent == 5
    received = smtp_server.messages()
    assert sorted(m.to_address for m in received) == addresses
    assert len({m.message_id for m in received}) == 6
    assert set(EmailOutbox.objects.values_list("status", flat=True)) == {"sent"}
    assert set(EmailOutbox.objects.values_list("attempts", flat=True)) == {1}

"""End to end on a real Celery worker: new articles about a topic (the `articles_understood`
signal) -> the worker evaluates the rules -> the alert email reaches a real SMTP server, once."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.sentiment.models import Alert, EmailOutbox, Sentiment, Subscription
from apps.sentiment.signals import articles_understood
from tests.sentiment.alert_helpers import (  # noqa: F401 (fixture)
    articles_add,
    background_add,
    rule_create,
    smtp_server,
)
from tests.sentiment.factories import TopicFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def alert_worker(smtp_server, monkeypatch, request):  # noqa: ANN001, ANN201, F811
    """The worker sends through the test's SMTP server (EMAIL_URL set before it starts)."""
    monkeypatch.setenv("EMAIL_URL", f"smtp://127.0.0.1:{smtp_server.port}")
    return request.getfixturevalue("celery_worker_process")


def wait_for_mail(server, worker, count: int, timeout_s: float = 120) -> list:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        messages = server.messages()
        if len(messages) >= count:
            return messages
        assert worker.poll() is None, worker.log_path.read_text()
        time.sleep(0.3)
    raise AssertionError(f"no mail after {timeout_s} s:\n{worker.log_path.read_text()[-3000:]}")


def evaluations_done(worker) -> int:  # noqa: ANN001
    log = worker.log_path.read_text()
    return len(re.findall(r"Task sentiment\.alerts_evaluate\[[^\]]+\] succeeded", log))


def test_burst_reaches_the_mailbox_through_the_worker(alert_worker, smtp_server) -> None:  # noqa: ANN001, F811
    now = timezone.now()
    topic = TopicFactory(name="Northwind Bank")
    background_add(topic, until=now - timedelta(minutes=15))
    burst = articles_add(
        topic,
        times=[now - timedelta(seconds=40 * i) for i in range(1, 13)],
        sentiment=Sentiment.NEGATIVE,
        title="{topic} hit by fraud probe, report {n}",
    )
    rule_create(topic)
    Subscription.objects.create(email="risk@example.com")

    articles_understood.send(
        sender=None, article_ids=[article.id for article in burst], topic_ids=[topic.id]
    )

    received = wait_for_mail(smtp_server, alert_worker, 1)
    alert = Alert.objects.get()
    assert alert.topic == topic and alert.state == Alert.State.FIRING
    outbox = EmailOutbox.objects.get()
    assert received[0].message_id == outbox.message_id
    assert "Northwind Bank" in received[0].subject
    assert "fraud probe" in received[0].html
    # The same news announced again changes nothing: still one alert, one email.
    articles_understood.send(sender=None, article_ids=[burst[0].id], topic_ids=[topic.id])
    deadline = time.monotonic() + 60
    while evaluations_done(alert_worker) < 2:
        assert time.monotonic() < deadline, alert_worker.log_path.read_text()[-3000:]
        time.sleep(0.3)
    assert Alert.objects.count() == 1
    assert len(smtp_server.messages()) == 1
    outbox.refresh_from_db()
    assert outbox.status == EmailOutbox.Status.SENT

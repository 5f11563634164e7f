"""One worker on both queues, a scoring backlog queued: the burst's alert email goes out first.

The smallest deployment (`make demo`, one worker for `default` and `gpu`) used to queue the
rule evaluation and the outbox flush behind every scoring batch already waiting. Now the
understanding task commits in chunks and evaluates the touched topics after each, and a fired
alert is emailed right away. Checked by the order of events on the worker's own clock: the
email is accepted by a real SMTP server before the rest of the burst's own batch is scored,
and before any batch queued after it; later evaluations send no second email.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db.models import Max, Min
from django.utils import timezone

from apps.sentiment.models import Alert, Article, EmailOutbox, Subscription
from apps.sentiment.signals import articles_ingested
from apps.sentiment.understanding.services import ALERT_CHUNK_SIZE
from apps.sentiment.understanding.training import HEADLINE_TASK
from ml.registry import services
from ml.registry.models import ModelVersion
from ml.training import Example, write_examples_csv
from tests.conftest import TINY_HYPERPARAMETERS
from tests.sentiment.alert_helpers import (  # noqa: F401 (fixture)
    background_add,
    rule_create,
    smtp_server,
)
from tests.sentiment.factories import ArticleFactory, TopicFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Words a tiny random model learns to read as each tone in a few epochs.
TONES = {
    "negative": ["fraud probe", "shares plunge", "lawsuit", "bad loans"],
    "neutral": ["market wrap", "annual meeting", "trading update", "conference call"],
    "positive": ["record profit", "dividend raised", "shares rally", "upgrade"],
}
TEMPLATES = [
    "{} at the bank",
    "report: {}",
    "{} today",
    "analysts on {}",
    "{} news",
    "breaking: {}",
    "{} as expected",
    "{} this week",
]
TASK_SIZE = 2 * ALERT_CHUNK_SIZE  # articles per understanding task: two chunks each


@pytest.fixture
def alert_worker(smtp_server, monkeypatch, request):  # noqa: ANN001, ANN201, F811
    monkeypatch.setenv("EMAIL_URL", f"smtp://127.0.0.1:{smtp_server.port}")
    return request.getfixturevalue("celery_worker_process")


def tone_model_promote(tiny_model_dir, tmp_path) -> ModelVersion:  # noqa: ANN001
    path = tmp_path / "tones.csv"
    write_examples_csv(
        path,
        [
            Example(text=template.format(words), label=label)
            for label, phrases in TONES.items()
            for words in phrases
            for template in TEMPLATES
        ],
    )
    queued = services.model_version_queue(
        task=HEADLINE_TASK,
        base_model=str(tiny_model_dir),
        dataset_path=str(path),
        hyperparameters=TINY_HYPERPARAMETERS,
        enqueue=False,
    )
    version = services.model_version_train(version_id=queued.id)
    assert version.status == ModelVersion.Status.READY, version.error
    return services.model_version_promote(version=version)


def wait_until(condition: Callable[[], bool], worker, timeout_s: float = 480) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert worker.poll() is None, worker.log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, worker.log_path.read_text()[-4000:]
        time.sleep(0.3)


def test_alert_email_is_sent_before_the_queued_backlog_is_scored(
    alert_worker,
    smtp_server,  # noqa: F811
    tiny_model_dir,
    tmp_path,
    settings,  # noqa: ANN001
):
    settings.SENTIMENT_BATCH_SIZE = TASK_SIZE  # the ingest receiver splits tasks in this process
    tone_model_promote(tiny_model_dir, tmp_path)
    topic = TopicFactory(name="Northwind Bank")
    now = timezone.now()
    background_add(topic, until=now - timedelta(minutes=15))
    rule_create(topic)
    Subscription.objects.create(email="risk@example.com")
    # Ids in creation order: the burst opens the first task's first chunk, a follow-up story
    # lands in its second chunk, and two more tasks are queued behind it.
    burst = [
        ArticleFactory(
            title=f"Northwind Bank fraud probe: shares plunge, report {n}",
            published_at=now - timedelta(seconds=20 * n),
        )
        for n in range(12)
    ]
    filler = [
        ArticleFactory(title=f"Market wrap: annual meeting season, note {n}")
        for n in range(ALERT_CHUNK_SIZE - len(burst))
    ]
    follow_up = [
        ArticleFactory(title=f"Northwind Bank lawsuit over bad loans, report {n}") for n in range(4)
    ]
    filler += [
        ArticleFactory(title=f"Market wrap: annual meeting season, note {n}")
        for n in range(ALERT_CHUNK_SIZE, 3 * TASK_SIZE - len(follow_up))
    ]
    ids = sorted(a.id for a in [*burst, *follow_up, *filler])
    first_task_second_chunk = ids[ALERT_CHUNK_SIZE:TASK_SIZE]
    backlog = ids[TASK_SIZE:]

    articles_ingested.send(sender=Article, article_ids=ids)

    wait_until(
        lambda: not Article.objects.filter(id__in=ids, scored_at__isnull=True).exists(),
        alert_worker,
    )
    wait_until(lambda: len(smtp_server.messages()) >= 1, alert_worker, timeout_s=60)

    alert = Alert.objects.get()
    assert alert.topic == topic and alert.state == Alert.State.FIRING
    assert {h["article_id"] for h in alert.evidence["headlines"]} <= {a.id for a in burst}
    assert set(first_task_second_chunk) >= {a.id for a in follow_up}
    outbox = EmailOutbox.objects.get()
    assert outbox.status == EmailOutbox.Status.SENT and outbox.attempts == 1
    # The order of events, all on the worker's clock.
    second_chunk = Article.objects.filter(id__in=first_task_second_chunk).aggregate(
        first=Min("scored_at")
    )
    queued_after = Article.objects.filter(id__in=backlog).aggregate(
        first=Min("scored_at"), last=Max("scored_at")
    )
    assert outbox.sent_at < second_chunk["first"]
    assert outbox.sent_at < queued_after["first"] <= queued_after["last"]
    # The second chunk (the follow-up) re-evaluated the topic: still one alert, one email.
    messages = smtp_server.messages()
    assert len(messages) == 1 and messages[0].message_id == outbox.message_id
    assert "Northwind Bank" in messages[0].subject


@pytest.mark.skipif(
    django_settings.TESSERA_MODE != "redis", reason="only the Redis broker orders by priority"
)
def test_fresh_news_is_scored_before_a_queued_backlog_of_old_news(
    alert_worker,
    smtp_server,  # noqa: F811
    tiny_model_dir,
    tmp_path,
    settings,  # noqa: ANN001
):
    settings.SENTIMENT_BATCH_SIZE = ALERT_CHUNK_SIZE
    tone_model_promote(tiny_model_dir, tmp_path)
    topic = TopicFactory(name="Northwind Bank")
    now = timezone.now()
    rule_create(topic)
    Subscription.objects.create(email="risk@example.com")
    # A catch-up of yesterday's news (three tasks), then a burst arrives while it is queued.
    old = [
        ArticleFactory(
            title=f"Market wrap: annual meeting season, note {n}",
            published_at=now - timedelta(hours=20, seconds=n),
        )
        for n in range(3 * ALERT_CHUNK_SIZE)
    ]
    burst = [
        ArticleFactory(title=f"Northwind Bank fraud probe: shares plunge, report {n}")
        for n in range(12)
    ]
    articles_ingested.send(sender=Article, article_ids=[a.id for a in old])
    articles_ingested.send(sender=Article, article_ids=[a.id for a in burst])

    wait_until(lambda: not Article.objects.filter(scored_at__isnull=True).exists(), alert_worker)
    wait_until(lambda: len(smtp_server.messages()) >= 1, alert_worker, timeout_s=60)

    outbox = EmailOutbox.objects.get()
    assert outbox.status == EmailOutbox.Status.SENT
    # The worker may have taken the first old task before the burst was queued, not the rest.
    old_ids = sorted(a.id for a in old)
    last_old_task = Article.objects.filter(id__in=old_ids[-ALERT_CHUNK_SIZE:]).aggregate(
        first=Min("scored_at")
    )
    assert outbox.sent_at < last_old_task["first"]
    assert len(smtp_server.messages()) == 1

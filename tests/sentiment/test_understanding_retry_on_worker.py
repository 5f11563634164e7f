"""A transient database error (a lock wait that timed out) makes the understanding task retry
with backoff on the real worker, and the articles are understood once the lock is gone."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator

import psycopg
import pytest
from django.db import connection

from apps.sentiment.models import Article, TopicMatch
from apps.sentiment.signals import articles_ingested
from tests.conftest import database_url_for_subprocess
from tests.sentiment.factories import ArticleFactory, TopicFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def short_lock_waits(transactional_db: None) -> Iterator[None]:
    """New connections to the test database give up waiting for a lock after 300 ms."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (lock_timeout)")
    name = connection.settings_dict["NAME"]
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{name}" SET lock_timeout = 300')
    yield
    with connection.cursor() as cursor:
        cursor.execute(f'ALTER DATABASE "{name}" RESET lock_timeout')


def wait_until(condition: Callable[[], bool], worker, timeout_s: float = 240) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert worker.poll() is None, worker.log_path.read_text()[-3000:]
        assert time.monotonic() < deadline, worker.log_path.read_text()[-4000:]
        time.sleep(0.2)


def test_a_lock_timeout_is_retried_and_the_articles_are_understood(short_lock_waits, request):  # noqa: ANN001
    topic = TopicFactory(name="Acme", aliases=["Acme"])
    article = ArticleFactory(title="Acme profit warning hits shares")
    worker = request.getfixturevalue("celery_worker_process")  # connects with the short waits
    retried = re.compile(r"Task sentiment\.understand_articles\[[^\]]+\] retry: Retry in")
    succeeded = re.compile(r"Task sentiment\.understand_articles\[[^\]]+\] succeeded")

    # Another session holds the matches table: the worker's write times out waiting for it.
    with psycopg.connect(database_url_for_subprocess()) as locker:
        locker.execute("LOCK TABLE sentiment_topicmatch IN ACCESS EXCLUSIVE MODE")
        articles_ingested.send(sender=Article, article_ids=[article.id])
        wait_until(lambda: retried.search(worker.log_path.read_text()) is not None, worker)
        locker.rollback()

    wait_until(lambda: TopicMatch.objects.filter(topic=topic, article=article).exists(), worker)
    log = worker.log_path.read_text()
    assert "LockNotAvailable" in log or "lock timeout" in log
    wait_until(lambda: succeeded.search(worker.log_path.read_text()) is not None, worker)

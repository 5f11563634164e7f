"""A promotion's re-scoring is sent below fresh work, so one worker keeps scoring new items."""

from __future__ import annotations

import pytest
from celery import current_app
from django.conf import settings as django_settings

from ml.registry import scoring
from ml.registry.models import ScoringRun
from tests.registry.factories import ModelVersionFactory

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        django_settings.TESSERA_MODE != "redis", reason="only the Redis broker orders by priority"
    ),
]


def _messages_waiting(queue_name: str) -> list:
    """Take every message waiting in `queue_name` off the real broker (no worker runs here)."""
    taken = []
    with current_app.connection_for_read() as connection:
        queue = connection.SimpleQueue(queue_name)
        try:
            while True:
                try:
                    message = queue.get(block=True, timeout=1)
                except queue.Empty:
                    return taken
                message.ack()
                taken.append(message)
        finally:
            queue.close()


def test_rescoring_waits_in_the_gpu_queue_at_the_backlog_priority(settings) -> None:  # noqa: ANN001
    settings.ML_RESCORE_PRIORITY = 7
    _messages_waiting("gpu")  # nothing left over from another test
    version = ModelVersionFactory(task="demo.scored")
    run = ScoringRun.objects.create(task=version.task, version=version)

    scoring._send(run.id)

    messages = _messages_waiting("gpu")
    assert len(messages) == 1
    assert messages[0].headers["task"] == "ml.rescore_run"
    assert messages[0].properties["priority"] == 7
    run.refresh_from_db()
    assert run.celery_task_id == messages[0].headers["id"]

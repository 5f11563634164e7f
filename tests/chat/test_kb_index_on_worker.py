"""Saving, deactivating and deleting entries reaches the search index through a real worker."""

from __future__ import annotations

import os
import signal
import time

import pytest

from apps.chat import services
from apps.chat.kb_index import kb_index_reader
from apps.chat.models import EntryPhrasing, KnowledgeEntry

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def indexed_ids() -> set[int]:
    return {int(i) for i in kb_index_reader().get().ids()}


def wait_until(condition, worker, timeout_s: float = 60) -> float:  # noqa: ANN001
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if condition():
            return time.monotonic() - started
        assert worker.poll() is None, worker.log_path.read_text()
        time.sleep(0.2)
    raise AssertionError(
        f"condition not met in {timeout_s}s:\n{worker.log_path.read_text()[-3000:]}"
    )


def test_entry_changes_reach_the_index_within_seconds(celery_worker_process):
    entry = services.entry_create(
        title="How do I reset my password?",
        answer="Use the reset link.",
        phrasings=["forgot my password", "can't log in"],
    )
    phrasing_ids = set(EntryPhrasing.objects.filter(entry=entry).values_list("id", flat=True))
    assert len(phrasing_ids) == 3  # title + two phrasings

    wait_until(lambda: indexed_ids() == phrasing_ids, celery_worker_process)

    answer = services.answer_question("I forgot my password")
    assert answer.decision.ranked[0].entry_id == entry.id

    extra = EntryPhrasing.objects.create(entry=entry, text="locked out of my account")
    wait_until(lambda: extra.id in indexed_ids(), celery_worker_process)

    entry.active = False
    entry.save()
    wait_until(lambda: not indexed_ids(), celery_worker_process)

    entry.active = True
    entry.save()
    wait_until(lambda: len(indexed_ids()) == 4, celery_worker_process)

    KnowledgeEntry.objects.filter(id=entry.id).delete()
    wait_until(lambda: not indexed_ids(), celery_worker_process)


def test_a_deleted_entry_is_never_served_even_before_the_index_catches_up(celery_worker_process):
    entry = services.entry_create(title="What are your opening hours?", answer="8 to 22.")
    wait_until(lambda: len(indexed_ids()) == 1, celery_worker_process)
    os.killpg(celery_worker_process.pid, signal.SIGSTOP)  # the index update cannot run now
    try:
        entry.delete()
        answer = services.answer_question("what are your opening hours")
        assert all(r.entry_id != entry.id for r in answer.decision.ranked)
        assert answer.decision.action == "handoff"
    finally:
        os.killpg(celery_worker_process.pid, signal.SIGCONT)

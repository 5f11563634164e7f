"""When ML_BASE_MODEL changes, the old index is not searched with the new encoder: it is rebuilt.

The saved index records the encoder's space (model name + content digest); these tests
stand in for "the model changed" by rewriting that record, as an index built by another
model would read.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from django.urls import reverse

from apps.chat import services
from apps.chat.kb_index import KB_INDEX, kb_index_path, kb_index_reader
from ml.index import VectorIndex
from ml.registry.indexes import IndexStatus, index_status

OTHER_SPACE = "all-mpnet-base-v2-0123456789abcdef"


def _entry():
    return services.entry_create(
        title="When will my card arrive?",
        answer="New cards arrive within 5 working days.",
        phrasings=["my card has not arrived", "card delivery time"],
    )


def _rewrite_saved_space(space: str | None) -> None:
    meta_path = next(p for p in kb_index_path().glob("v*/meta.json"))
    meta = json.loads(meta_path.read_text())
    meta["space"] = space
    meta_path.write_text(json.dumps(meta))


def _status() -> IndexStatus:
    return index_status(name=KB_INDEX)


def _saved_space() -> str | None:
    return VectorIndex.saved_meta(kb_index_path())["space"]


@pytest.fixture
def indexed_entry(artifacts_dir: Path, db):  # noqa: ANN001
    with services.index_updates_deferred(enqueue=False):
        entry = _entry()
    services.kb_index_rebuild()
    return entry


@pytest.mark.django_db
def test_a_fresh_index_records_the_encoder_and_reads_as_current(indexed_entry):
    status = _status()

    assert status.current is True and status.problem is None
    assert status.space == status.encoder_space == _saved_space()
    assert status.vectors == 3


@pytest.mark.django_db
def test_an_index_of_another_encoder_is_not_searched_and_the_bot_offers_a_person(
    indexed_entry,
):
    _rewrite_saved_space(OTHER_SPACE)

    result = services.answer_question("my card has not arrived")

    assert len(kb_index_reader().get()) == 0  # refused, not searched
    assert result.decision.action == "handoff"
    status = _status()
    assert status.current is False and OTHER_SPACE in status.problem


@pytest.mark.django_db
def test_an_entry_change_rebuilds_an_index_of_another_encoder_instead_of_mixing(indexed_entry):
    _rewrite_saved_space(OTHER_SPACE)
    second = services.entry_create(title="How do I change my PIN?", answer="At any ATM.")

    result = services.kb_index_sync(entry_ids=[second.id])

    assert result.rebuilt is True and result.upserted == 4  # both entries re-embedded
    assert _saved_space() == _status().encoder_space
    answer = services.answer_question("my card has not arrived")
    assert answer.decision.ranked[0].entry_id == indexed_entry.id


@pytest.mark.django_db
@pytest.mark.parametrize("saved", [OTHER_SPACE, None], ids=["other encoder", "unrecorded"])
def test_ensure_current_rebuilds_only_an_index_it_cannot_vouch_for(indexed_entry, saved):
    assert services.kb_index_ensure_current().rebuilt is False
    _rewrite_saved_space(saved)
    if saved is None:
        assert "recorded" in _status().problem

    result = services.kb_index_ensure_current()

    assert result.rebuilt is True and result.previous_space == saved
    assert result.vectors == 3
    assert _saved_space() == result.space
    assert services.kb_index_ensure_current().rebuilt is False


@pytest.mark.django_db
def test_ensure_current_without_entries_builds_nothing(artifacts_dir):
    result = services.kb_index_ensure_current()

    assert result.rebuilt is False and "nothing to index" in result.reason
    assert VectorIndex.saved_meta(kb_index_path()) is None


@pytest.mark.django_db
def test_the_entry_list_shows_whether_the_index_is_current(admin_client, indexed_entry):
    url = reverse("admin:chat_knowledgeentry_changelist")
    html = admin_client.get(url).content.decode()
    assert 'id="index-status"' in html and "current" in html and "3 phrasing vectors" in html

    _rewrite_saved_space(OTHER_SPACE)
    html = admin_client.get(url).content.decode()
    assert f"built by another encoder ({OTHER_SPACE})" in html


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_that_starts_after_a_model_change_rebuilds_the_index(
    artifacts_dir, celery_worker_process_after_model_change
):
    deadline = time.monotonic() + 90
    wanted = _status().encoder_space
    while _saved_space() != wanted:
        assert celery_worker_process_after_model_change.poll() is None
        assert time.monotonic() < deadline, (
            celery_worker_process_after_model_change.log_path.read_text()[-3000:]
        )
        time.sleep(0.3)
    assert _status().vectors == 3
    log = celery_worker_process_after_model_change.log_path.read_text()
    assert "ml.index_ensure_current" in log and "'rebuilt': True" in log


@pytest.fixture
def celery_worker_process_after_model_change(artifacts_dir, transactional_db, request):  # noqa: ANN001
    """An index of "another model" exists before the worker process starts."""
    with services.index_updates_deferred(enqueue=False):  # no sync task: only the start hook
        _entry()
    services.kb_index_rebuild()
    _rewrite_saved_space(OTHER_SPACE)
    return request.getfixturevalue("celery_worker_process")

"""The chat sends the core the ids of every phrasing a write touched, deleted ones included."""

from __future__ import annotations

import pytest
from django.db import transaction

from apps.chat import services
from apps.chat.kb_index import kb_index_path
from apps.chat.models import EntryPhrasing, KnowledgeEntry
from ml.index import VectorIndex

pytestmark = pytest.mark.django_db(transaction=True)  # real commits: the task runs after them


@pytest.fixture(autouse=True)
def eager_tasks(monkeypatch: pytest.MonkeyPatch, artifacts_dir) -> None:  # noqa: ANN001
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)


def _indexed() -> set[int]:
    return {int(i) for i in VectorIndex.load(kb_index_path()).ids()}


def _live() -> set[int]:
    return set(EntryPhrasing.objects.filter(entry__active=True).values_list("id", flat=True))


def test_a_phrasing_deleted_on_its_own_leaves_the_index():
    entry = services.entry_create(title="Where is my parcel?", answer="Track it.", phrasings=["a"])
    extra = EntryPhrasing.objects.get(entry=entry, text="a")
    assert _indexed() == _live() and extra.id in _indexed()

    extra.delete()  # outside any transaction: its own task

    assert _indexed() == _live() and extra.id not in _indexed()


def test_a_retitled_entry_swaps_its_title_phrasing_in_one_transaction():
    entry = services.entry_create(title="Opening hours", answer="8 to 22.")
    [old_title] = _indexed()

    with transaction.atomic():
        entry.title = "When are you open?"
        entry.save()

    assert old_title not in _indexed() and _indexed() == _live() and len(_indexed()) == 1


def test_deleting_an_entry_removes_all_its_phrasings_and_keeps_the_others():
    keep = services.entry_create(title="Change my PIN", answer="At an ATM.", phrasings=["pin"])
    drop = services.entry_create(title="Lost card", answer="Freeze it.", phrasings=["stolen"])
    assert len(_indexed()) == 4

    KnowledgeEntry.objects.filter(id=drop.id).delete()  # phrasings go by cascade

    assert _indexed() == set(keep.phrasings.values_list("id", flat=True))

"""Bulk import (CSV, JSON) with per-row errors, and export files that import back unchanged."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.chat.models import EntryPhrasing, KnowledgeEntry
from tests.chat.factories import EntryPhrasingFactory, KnowledgeEntryFactory

pytestmark = pytest.mark.django_db

IMPORT_URL = "admin:chat_knowledgeentry_import"


def _upload(admin_client, name: str, content: str, file_format: str = ""):  # noqa: ANN202
    return admin_client.post(
        reverse(IMPORT_URL),
        {"file": SimpleUploadedFile(name, content.encode()), "file_format": file_format},
    )


def _kb_snapshot() -> dict[str, dict]:
    """What an entry is, independent of ids and timestamps."""
    return {
        entry.intent: {
            "title": entry.title,
            "answer": entry.answer,
            "tags": entry.tags,
            "language": entry.language,
            "active": entry.active,
            "phrasings": sorted(entry.phrasings.values_list("text", flat=True)),
        }
        for entry in KnowledgeEntry.objects.all()
    }


def test_csv_import_saves_the_good_row_and_lists_each_bad_row_with_its_number(admin_client):
    csv_text = (
        "title,answer,phrasings,tags,language,active,intent\n"
        "Where is my parcel?,It ships within 2 days.,parcel status|track my parcel,"
        '"shipping,parcel",en,true,parcel_status\n'
        ",An answer without a title,,,en,true,no_title\n"
        "Bad flag,Some answer,,,en,maybe,bad_flag\n"
        "Bad intent,Some answer,,,en,true,not a slug!\n"
    )

    response = _upload(admin_client, "kb.csv", csv_text)

    assert response.status_code == 200
    entry = KnowledgeEntry.objects.get()
    assert entry.intent == "parcel_status"
    assert entry.tags == ["shipping", "parcel"]
    assert set(entry.phrasings.values_list("text", "source")) == {
        ("Where is my parcel?", EntryPhrasing.Source.TITLE),
        ("parcel status", EntryPhrasing.Source.IMPORT),
        ("track my parcel", EntryPhrasing.Source.IMPORT),
    }
    html = response.content.decode()
    assert html.count('class="import-error"') == 3
    assert "<td>2</td><td>title</td><td>is required</td>" in html
    assert "<td>3</td><td>active</td><td>&#x27;maybe&#x27; is not a boolean" in html
    assert "<td>4</td><td>intent</td><td>&#x27;not a slug!&#x27; is not a slug" in html
    assert "1 created, 0 updated" in html


def test_json_import_upserts_by_intent_and_reports_duplicates_in_the_file(admin_client):
    existing = KnowledgeEntryFactory(intent="card_arrival", title="Old title", answer="Old")
    EntryPhrasingFactory(entry=existing, text="kept phrasing")
    payload = {
        "entries": [
            {
                "intent": "card_arrival",
                "title": "When will my new card arrive?",
                "answer": "Within 5 working days.",
                "phrasings": ["where is my new card"],
                "tags": ["card"],
            },
            {
                "title": "How do I change my PIN?",
                "answer": "Under Cards > PIN.",
                "phrasings": ["change my pin"],
                "language": "en-GB",
                "active": False,
            },
            {"intent": "card_arrival", "title": "Duplicate", "answer": "Twice in one file"},
            {"title": "Phrasings not a list", "answer": "x", "phrasings": [1, 2]},
        ]
    }

    response = _upload(admin_client, "kb.json", json.dumps(payload))

    html = response.content.decode()
    assert "1 created, 1 updated" in html
    assert "<td>3</td><td>intent</td><td>&#x27;card_arrival&#x27; is already used by row 1" in html
    assert "<td>4</td><td>phrasings</td><td>must be a list of strings</td>" in html
    existing.refresh_from_db()
    assert existing.title == "When will my new card arrive?"
    assert existing.tags == ["card"]
    assert {"kept phrasing", "where is my new card"} <= set(
        existing.phrasings.values_list("text", flat=True)
    )
    pin = KnowledgeEntry.objects.get(intent="how-do-i-change-my-pin")  # slug of the title
    assert (pin.active, pin.language) == (False, "en-GB")


def test_import_of_many_rows_queues_one_index_update(
    admin_client, django_capture_on_commit_callbacks
):
    rows = [{"title": f"Question {i}?", "answer": f"Answer {i}"} for i in range(25)]
    with django_capture_on_commit_callbacks() as callbacks:
        _upload(admin_client, "kb.json", json.dumps({"entries": rows}))
    assert KnowledgeEntry.objects.count() == 25
    assert len(callbacks) == 1


def test_unreadable_file_imports_nothing_and_says_why(admin_client):
    response = _upload(admin_client, "kb.json", '{"entries": [')
    assert "invalid JSON at line 1" in response.content.decode()
    response = _upload(admin_client, "kb.csv", "title,answr\nA,B\n")
    assert "unknown column(s) answr" in response.content.decode()
    response = _upload(admin_client, "kb.txt", "whatever")
    assert "cannot tell the format" in response.content.decode()
    assert not KnowledgeEntry.objects.exists()


@pytest.mark.parametrize("file_format", ["csv", "json"])
def test_export_then_import_gives_back_the_same_entries(admin_client, file_format):
    card = KnowledgeEntryFactory(
        intent="card_arrival",
        title='When will my "new" card arrive?',
        answer="Within 5 days.\nTrack it: https://help.example.com/cards, or call us.",
        tags=["card", "delivery"],
    )
    EntryPhrasingFactory(entry=card, text="where is my card")
    EntryPhrasingFactory(
        entry=card, text="card, not delivered", source=EntryPhrasing.Source.LEARNED
    )
    KnowledgeEntryFactory(intent="old_fees", title="Fees (2019)", active=False, language="de")
    before = _kb_snapshot()

    response = admin_client.get(reverse("admin:chat_knowledgeentry_export", args=[file_format]))

    assert response.status_code == 200
    assert f'.{file_format}"' in response["Content-Disposition"]
    exported = b"".join(response.streaming_content if response.streaming else [response.content])
    KnowledgeEntry.objects.all().delete()
    _upload(admin_client, f"kb.{file_format}", exported.decode())
    assert _kb_snapshot() == before

    _upload(admin_client, f"kb.{file_format}", exported.decode())  # again: updates, no copies
    assert _kb_snapshot() == before

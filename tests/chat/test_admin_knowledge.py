"""Knowledge-base admin: CRUD with phrasings, list, actions, and the index kept in step."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.chat.kb_index import kb_index_path
from apps.chat.models import EntryPhrasing, KnowledgeEntry
from ml.index import VectorIndex
from ml.registry.models import ModelVersion
from tests.chat.factories import EntryPhrasingFactory, KnowledgeEntryFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def eager_tasks(monkeypatch: pytest.MonkeyPatch, artifacts_dir) -> None:  # noqa: ANN001
    """Celery tasks run in-process (the worker path is tested in test_kb_index_on_worker)."""
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)


def _indexed_phrasing_ids() -> set[int]:
    return {int(i) for i in VectorIndex.load(kb_index_path()).ids()}


def _entry_form(**overrides: object) -> dict[str, object]:
    data = {
        "title": "How do I close my account?",
        "intent": "",
        "answer": "Write to us at https://help.example.com/close and we close it in 2 days.",
        "tags": "account, closing",
        "language": "en",
        "active": "on",
        "phrasings-TOTAL_FORMS": "2",
        "phrasings-INITIAL_FORMS": "0",
        "phrasings-MIN_NUM_FORMS": "0",
        "phrasings-MAX_NUM_FORMS": "1000",
        "phrasings-0-text": "delete my account",
        "phrasings-0-source": "manual",
        "phrasings-1-text": "I want to cancel my membership",
        "phrasings-1-source": "manual",
    }
    data.update(overrides)
    return data


def test_add_entry_with_phrasings_indexes_them_after_commit(
    admin_client, eager_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(reverse("admin:chat_knowledgeentry_add"), _entry_form())

    assert response.status_code == 302, response.content.decode()[:2000]
    entry = KnowledgeEntry.objects.get()
    assert entry.intent == "how-do-i-close-my-account"
    assert entry.tags == ["account", "closing"]
    texts = set(entry.phrasings.values_list("text", flat=True))
    assert texts == {
        "How do I close my account?",
        "delete my account",
        "I want to cancel my membership",
    }
    assert len(callbacks) == 1  # one index task for the entry and its inline phrasings
    assert _indexed_phrasing_ids() == set(entry.phrasings.values_list("id", flat=True))


def test_change_and_delete_entry_through_the_admin(admin_client):
    entry = KnowledgeEntryFactory(title="Old title", intent="closing")
    phrasing = EntryPhrasingFactory(entry=entry, text="obsolete way to ask")
    title_phrasing = entry.phrasings.get(source=EntryPhrasing.Source.TITLE)
    form = _entry_form(
        title="New title",
        intent="closing",
        **{
            "phrasings-TOTAL_FORMS": "3",
            "phrasings-INITIAL_FORMS": "2",
            "phrasings-0-id": str(title_phrasing.id),
            "phrasings-0-text": title_phrasing.text,
            "phrasings-0-source": "title",
            "phrasings-1-id": str(phrasing.id),
            "phrasings-1-text": phrasing.text,
            "phrasings-1-source": "manual",
            "phrasings-1-DELETE": "on",
            "phrasings-2-text": "a new way to ask",
            "phrasings-2-source": "manual",
        },
    )
    response = admin_client.post(reverse("admin:chat_knowledgeentry_change", args=[entry.id]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    entry.refresh_from_db()
    assert entry.title == "New title"
    assert set(entry.phrasings.values_list("text", flat=True)) == {"New title", "a new way to ask"}

    response = admin_client.post(
        reverse("admin:chat_knowledgeentry_delete", args=[entry.id]), {"post": "yes"}
    )
    assert response.status_code == 302
    assert not KnowledgeEntry.objects.exists()
    assert not EntryPhrasing.objects.exists()


def test_invalid_intent_is_a_form_error(admin_client):
    response = admin_client.post(
        reverse("admin:chat_knowledgeentry_add"), _entry_form(intent="not a slug")
    )
    assert response.status_code == 200
    assert 'id="id_intent_error"><li>Enter a valid “slug”' in response.content.decode()
    assert not KnowledgeEntry.objects.exists()


def test_list_shows_phrasing_counts_and_searches_phrasings(admin_client):
    entry = KnowledgeEntryFactory(title="Card delivery", intent="card_arrival")
    EntryPhrasingFactory(entry=entry, text="parcel with my plastic")
    KnowledgeEntryFactory(title="Opening hours", intent="hours")

    response = admin_client.get(reverse("admin:chat_knowledgeentry_changelist"), {"q": "plastic"})

    html = response.content.decode()
    assert "Card delivery" in html
    assert "Opening hours" not in html
    assert '<td class="field-phrasing_count">2</td>' in html  # title + one phrasing
    for name in ("import", "ask", "rebuild_index", "fine_tune"):
        assert reverse(f"admin:chat_knowledgeentry_{name}") in html
    for file_format in ("csv", "json"):
        assert reverse("admin:chat_knowledgeentry_export", args=[file_format]) in html


def test_answer_is_escaped_and_its_urls_become_links(admin_client):
    entry = KnowledgeEntryFactory(
        answer='<script>alert("x")</script> See https://help.example.com/a?b=1&c=2 now'
    )
    response = admin_client.get(reverse("admin:chat_knowledgeentry_change", args=[entry.id]))
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert (
        '<a href="https://help.example.com/a?b=1&amp;c=2" rel="nofollow">'
        "https://help.example.com/a?b=1&amp;c=2</a>"
    ) in html


@pytest.mark.django_db(transaction=True)  # real commits: each save's on_commit really runs
def test_deactivate_action_saves_each_entry_and_drops_it_from_the_index(admin_client, eager_tasks):
    keep = KnowledgeEntryFactory()
    drop = KnowledgeEntryFactory()
    assert _indexed_phrasing_ids() == set(EntryPhrasing.objects.values_list("id", flat=True))

    response = admin_client.post(
        reverse("admin:chat_knowledgeentry_changelist"),
        {"action": "deactivate", "_selected_action": [drop.id]},
        follow=True,
    )

    assert "1 entry now inactive" in response.content.decode()
    drop.refresh_from_db()
    assert drop.active is False
    assert _indexed_phrasing_ids() == set(keep.phrasings.values_list("id", flat=True))

    admin_client.post(
        reverse("admin:chat_knowledgeentry_changelist"),
        {"action": "activate", "_selected_action": [drop.id, keep.id]},
    )
    drop.refresh_from_db()
    assert drop.active is True


def test_rebuild_button_queues_the_rebuild_task(
    admin_client, eager_tasks, django_capture_on_commit_callbacks
):
    entry = KnowledgeEntryFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = admin_client.post(
            reverse("admin:chat_knowledgeentry_rebuild_index"), follow=True
        )
    assert "Index rebuild queued" in response.content.decode()
    assert len(callbacks) == 1
    assert _indexed_phrasing_ids() == set(entry.phrasings.values_list("id", flat=True))


def test_fine_tune_button_queues_a_chat_intent_version_and_links_to_it(admin_client, admin_user):
    response = admin_client.post(reverse("admin:chat_knowledgeentry_fine_tune"), follow=True)

    version = ModelVersion.objects.get(task="chat.intent")
    assert version.status == ModelVersion.Status.QUEUED
    assert version.created_by == admin_user
    url = reverse("admin:registry_modelversion_change", args=[version.id])
    assert f'<a href="{url}">' in response.content.decode()


def test_pages_are_for_staff_only(client, django_user_model):
    user = django_user_model.objects.create_user("someone", password="pw-123456789")
    client.force_login(user)
    for name in ("admin:chat_knowledgeentry_import", "admin:chat_knowledgeentry_ask"):
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert "/login/" in response["Location"]

"""The "Ask the bot" admin page runs the real answer path (MiniLM + index) and explains it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.urls import reverse

from apps.chat import services

pytestmark = pytest.mark.django_db

DEMO_FAQ = Path(__file__).resolve().parents[2] / "apps" / "chat" / "demo" / "faq.json"


@pytest.fixture
def indexed_faq(artifacts_dir: Path) -> dict:
    """The demo FAQ's entries, embedded into a fresh index under this test's artifacts dir."""
    entries = {}
    with services.index_updates_deferred(enqueue=False):
        for row in json.loads(DEMO_FAQ.read_text())["entries"][:8]:
            entries[row["intent"]] = services.entry_create(
                title=row["title"],
                answer=row["answer"],
                phrasings=row["phrasings"],
                intent=row["intent"],
                tags=row.get("tags", []),
            )
    services.kb_index_rebuild()
    return entries


def test_preview_shows_the_decision_the_ranked_entries_and_the_reply(admin_client, indexed_faq):
    card = indexed_faq["card_arrival"]

    response = admin_client.get(
        reverse("admin:chat_knowledgeentry_ask"), {"question": "my card hasn't arrived yet"}
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="decision">answer</span>' in html
    ranked = html[html.index('id="ranked"') :]
    first_row = ranked[: ranked.index("</tr>", ranked.index("<tbody>"))]
    assert reverse("admin:chat_knowledgeentry_change", args=[card.id]) in first_row
    assert "answer &ge; " in html  # thresholds shown
    assert "no chat.intent model in production" in html
    reply = html[html.index('id="reply"') :]
    assert "New cards arrive within 5 working days" in reply
    assert (
        '<a href="https://help.example.com/cards/delivery" rel="nofollow">' in reply
    )  # the URL in the answer became a link


def test_preview_escapes_the_question_and_saves_nothing(admin_client, indexed_faq):
    from apps.chat.models import Message, UnansweredQuestion

    response = admin_client.get(
        reverse("admin:chat_knowledgeentry_ask"),
        {"question": "<b>how do I change my PIN</b>"},
    )
    html = response.content.decode()
    assert 'id="decision">' in html
    assert "<b>how do I change my PIN</b>" not in html
    assert not Message.objects.exists()
    assert not UnansweredQuestion.objects.exists()


def test_empty_question_is_a_form_error_not_a_crash(admin_client):
    response = admin_client.get(reverse("admin:chat_knowledgeentry_ask"), {"question": ""})
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()


def test_preview_says_when_a_question_asks_for_a_person(admin_client, indexed_faq):
    response = admin_client.get(
        reverse("admin:chat_knowledgeentry_ask"), {"question": "let me speak to a real human"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert 'id="decision">handoff_request<' in page
    assert 'id="handoff-request"' in page and "finding a person" in page

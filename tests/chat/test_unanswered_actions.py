"""Turning unanswered questions into entries or phrasings resolves them and feeds training."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest
from django.urls import reverse

from apps.chat.models import EntryPhrasing, KnowledgeEntry, UnansweredQuestion
from apps.chat.training import intent_dataset
from tests.chat.factories import KnowledgeEntryFactory, UnansweredQuestionFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:chat_unansweredquestion_changelist"


def _examples() -> set[tuple[str, str]]:
    return {(e.text, e.label) for e in intent_dataset()}


def _action(admin_client, action: str, questions: list) -> str:  # noqa: ANN001
    response = admin_client.post(
        reverse(CHANGELIST), {"action": action, "_selected_action": [q.id for q in questions]}
    )
    assert response.status_code == 302
    return response["Location"]


def test_create_entry_from_questions_prefills_the_form_and_resolves_them(admin_client):
    first = UnansweredQuestionFactory(text="can I freeze my savings account")
    second = UnansweredQuestionFactory(
        text="how to lock savings", reason=UnansweredQuestion.Reason.THUMBS_DOWN
    )
    other = UnansweredQuestionFactory(text="unrelated and left open")

    form_url = _action(admin_client, "create_entry", [first, second])
    page = admin_client.get(form_url).content.decode()
    assert 'name="title" value="can I freeze my savings account"' in page
    assert "can I freeze my savings account\nhow to lock savings</textarea>" in page

    ids = parse_qs(urlparse(form_url).query)["ids"][0]
    response = admin_client.post(
        reverse("admin:chat_unansweredquestion_create_entry"),
        {
            "ids": ids,
            "title": "Can I freeze my savings account?",
            "intent": "",
            "answer": "Yes: Accounts > Savings > Freeze. https://help.example.com/freeze",
            "phrasings": "can I freeze my savings account\nhow to lock savings\nstop my savings",
            "tags": "savings",
            "language": "en",
            "active": "on",
        },
        follow=True,
    )

    assert response.status_code == 200
    entry = KnowledgeEntry.objects.get(intent="can-i-freeze-my-savings-account")
    assert "Created <a href" in response.content.decode()
    learned = set(
        entry.phrasings.filter(source=EntryPhrasing.Source.LEARNED).values_list("text", flat=True)
    )
    assert learned == {"can I freeze my savings account", "how to lock savings", "stop my savings"}
    for question in (first, second):
        question.refresh_from_db()
        assert question.state == UnansweredQuestion.State.RESOLVED
        assert question.resolved_entry == entry
    other.refresh_from_db()
    assert other.state == UnansweredQuestion.State.OPEN
    assert ("how to lock savings", entry.intent) in _examples()


def test_create_entry_requires_an_answer(admin_client):
    question = UnansweredQuestionFactory(text="is there an app for tablets")
    response = admin_client.post(
        reverse("admin:chat_unansweredquestion_create_entry"),
        {"ids": str(question.id), "title": "Tablet app", "answer": "", "language": "en"},
    )
    assert response.status_code == 200
    assert "This field is required" in response.content.decode()
    question.refresh_from_db()
    assert question.state == UnansweredQuestion.State.OPEN


def test_attach_as_phrasings_resolves_them_and_the_text_reaches_the_intent_dataset(admin_client):
    entry = KnowledgeEntryFactory(title="When will my new card arrive?", intent="card_arrival")
    questions = [
        UnansweredQuestionFactory(text="still no plastic in my mailbox"),
        UnansweredQuestionFactory(text="card post taking forever"),
    ]
    assert ("still no plastic in my mailbox", "card_arrival") not in _examples()

    picker_url = _action(admin_client, "attach_to_entry", questions)
    picker = admin_client.get(picker_url).content.decode()
    assert "still no plastic in my mailbox" in picker
    ids = parse_qs(urlparse(picker_url).query)["ids"][0]

    response = admin_client.post(
        reverse("admin:chat_unansweredquestion_attach"),
        {"ids": ids, "entry": entry.id},
        follow=True,
    )

    assert "2 phrasing(s) added" in response.content.decode()
    assert set(
        entry.phrasings.filter(source=EntryPhrasing.Source.LEARNED).values_list("text", flat=True)
    ) == {q.text for q in questions}
    for question in questions:
        question.refresh_from_db()
        assert (question.state, question.resolved_entry_id) == ("resolved", entry.id)
    assert {
        ("still no plastic in my mailbox", "card_arrival"),
        ("card post taking forever", "card_arrival"),
    } <= _examples()


def test_acting_twice_on_the_same_questions_is_refused(admin_client):
    entry = KnowledgeEntryFactory()
    question = UnansweredQuestionFactory(text="what is a sort code")
    url = reverse("admin:chat_unansweredquestion_attach")
    admin_client.post(url, {"ids": str(question.id), "entry": entry.id})
    response = admin_client.post(url, {"ids": str(question.id), "entry": entry.id})
    assert response.status_code == 200
    assert "None of the selected questions is still open" in response.content.decode()


def test_dismiss_from_the_grouped_page_and_as_an_action(admin_client):
    first = UnansweredQuestionFactory(text="hello?")
    second = UnansweredQuestionFactory(text="asdfgh")
    response = admin_client.post(
        reverse("admin:chat_unansweredquestion_dismiss"), {"ids": str(first.id)}, follow=True
    )
    assert "1 question(s) dismissed" in response.content.decode()
    admin_client.post(reverse(CHANGELIST), {"action": "dismiss", "_selected_action": [second.id]})
    assert set(UnansweredQuestion.objects.values_list("state", flat=True)) == {"dismissed"}


def test_list_links_each_question_to_its_conversation(admin_client):
    question = UnansweredQuestionFactory(text="where do I find my IBAN")
    response = admin_client.get(reverse(CHANGELIST), {"state__exact": "open"})
    html = response.content.decode()
    assert "where do I find my IBAN" in html
    conversation = question.message.conversation
    assert reverse("admin:chat_conversation_change", args=[conversation.id]) in html
    assert "low confidence" in html
    detail = admin_client.get(
        reverse("admin:chat_unansweredquestion_change", args=[question.id])
    ).content.decode()
    assert "where do I find my IBAN" in detail
    assert reverse("admin:chat_conversation_change", args=[conversation.id]) in detail

"""Conversation admin: read-only transcript, filters, a customer's export and erasure."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from apps.chat.models import Conversation, Message
from tests.chat.factories import ConversationFactory, MessageFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:chat_conversation_changelist"


def test_transcript_is_read_only_with_evidence_pretty_printed(admin_client):
    conversation = ConversationFactory()
    question = MessageFactory(conversation=conversation, text="where is my card")
    MessageFactory(
        conversation=conversation,
        sender=Message.Sender.BOT,
        kind=Message.Kind.ANSWER,
        text="It arrives in 5 days.",
        reply_to=question,
        feedback=-1,
        evidence={"decision": "answer", "confidence": 0.91, "entries": [{"entry_id": 3}]},
    )

    response = admin_client.get(reverse("admin:chat_conversation_change", args=[conversation.id]))

    html = response.content.decode()
    assert "where is my card" in html
    assert "It arrives in 5 days." in html
    assert "&quot;confidence&quot;: 0.91" in html  # json.dumps(indent=2), escaped
    assert 'name="messages-0-text"' not in html  # no editable inline fields
    assert 'name="messages-0-DELETE"' not in html
    assert admin_client.get(reverse("admin:chat_conversation_add")).status_code == 403


def test_changelist_filters_by_status_resolution_and_csat(admin_client):
    closed = ConversationFactory(
        status=Conversation.Status.CLOSED,
        resolution=Conversation.Resolution.BOT_RESOLVED,
        csat=5,
    )
    waiting = ConversationFactory(status=Conversation.Status.WAITING)

    html = admin_client.get(reverse(CHANGELIST), {"status__exact": "closed"}).content.decode()
    assert str(closed.public_id) in html and str(waiting.public_id) not in html
    html = admin_client.get(reverse(CHANGELIST), {"csat__exact": "5"}).content.decode()
    assert str(closed.public_id) in html and str(waiting.public_id) not in html
    html = admin_client.get(
        reverse(CHANGELIST), {"resolution__exact": "bot_resolved"}
    ).content.decode()
    assert str(closed.public_id) in html and str(waiting.public_id) not in html
    for term in (waiting.customer_ref, str(waiting.public_id), str(waiting.public_id)[:8]):
        html = admin_client.get(reverse(CHANGELIST), {"q": term}).content.decode()
        assert str(waiting.public_id) in html and str(closed.public_id) not in html


def test_export_action_downloads_every_conversation_of_the_customer(admin_client):
    first = ConversationFactory(customer_ref="cust-42")
    second = ConversationFactory(customer_ref="cust-42")
    MessageFactory(conversation=first, text="first question")
    MessageFactory(conversation=second, text="second question")
    ConversationFactory(customer_ref="cust-7")

    response = admin_client.post(
        reverse(CHANGELIST), {"action": "export_customer", "_selected_action": [first.id]}
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert 'filename="conversations-cust-42.json"' in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["customer_ref"] == "cust-42"
    assert {c["id"] for c in data["conversations"]} == {str(first.public_id), str(second.public_id)}
    texts = {m["text"] for c in data["conversations"] for m in c["messages"]}
    assert texts == {"first question", "second question"}


def test_export_refuses_a_selection_of_several_customers(admin_client):
    one, two = ConversationFactory(customer_ref="a"), ConversationFactory(customer_ref="b")
    response = admin_client.post(
        reverse(CHANGELIST),
        {"action": "export_customer", "_selected_action": [one.id, two.id]},
        follow=True,
    )
    assert response["Content-Type"].startswith("text/html")
    assert "covers 2 different customers" in response.content.decode()


def test_erase_asks_for_confirmation_then_deletes_only_that_customer(admin_client):
    selected = ConversationFactory(customer_ref="cust-42")
    sibling = ConversationFactory(customer_ref="cust-42")
    MessageFactory(conversation=sibling)
    other = ConversationFactory(customer_ref="cust-7")
    form = {"action": "erase_customer", "_selected_action": [selected.id]}

    confirm = admin_client.post(reverse(CHANGELIST), form)

    assert confirm.status_code == 200
    html = confirm.content.decode()
    assert '<code id="customer-ref">cust-42</code>: 2 conversations' in html
    assert 'name="post" value="yes"' in html
    assert Conversation.objects.count() == 3  # nothing deleted before confirming

    done = admin_client.post(reverse(CHANGELIST), {**form, "post": "yes"}, follow=True)

    assert "Erased 2 conversation(s)" in done.content.decode()
    assert list(Conversation.objects.all()) == [other]
    assert not Message.objects.filter(conversation__customer_ref="cust-42").exists()

"""Receiving, deduplicating, handing off, agents, closing and CSAT through the services."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth import get_user_model

from apps.chat import selectors, services
from apps.chat.exceptions import ChatError
from apps.chat.models import Conversation, Message

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation() -> Conversation:
    return services.conversation_get_or_create(public_id=uuid.uuid4(), customer_ref="cust-1")


@pytest.fixture
def agent():
    return get_user_model().objects.create_user("agent", password="x", is_staff=True)


def test_resent_message_is_stored_once(conversation):
    first, created = services.message_receive(
        conversation=conversation, text="hi", client_msg_id="m1"
    )
    again, created_again = services.message_receive(
        conversation=conversation, text="hi", client_msg_id="m1"
    )
    assert created and not created_again and first.id == again.id
    assert conversation.messages.count() == 1


def test_too_long_and_empty_messages_are_refused(conversation, settings):
    with pytest.raises(ChatError) as too_long:
        services.message_receive(
            conversation=conversation,
            text="x" * (settings.CHAT_MAX_MESSAGE_CHARS + 1),
            client_msg_id="a",
        )
    assert too_long.value.code == "message_too_long"
    with pytest.raises(ChatError) as empty:
        services.message_receive(conversation=conversation, text="   ", client_msg_id="b")
    assert empty.value.code == "empty_message"
    assert not conversation.messages.exists()


def test_handoff_then_agent_owns_the_conversation_and_the_bot_stays_silent(conversation, agent):
    question, _ = services.message_receive(
        conversation=conversation, text="help", client_msg_id="1"
    )
    services.handoff_request(conversation=conversation)
    assert [c.id for c in selectors.conversations_waiting()] == [conversation.id]

    services.agent_take(conversation_id=conversation.id, agent=agent)
    assert services.conversation_reply(conversation=conversation, message=question) is None
    reply = services.agent_reply(conversation_id=conversation.id, agent=agent, text="Hello!")
    assert reply.sender == Message.Sender.AGENT

    other = get_user_model().objects.create_user("other", password="x", is_staff=True)
    with pytest.raises(ChatError) as taken:
        services.agent_take(conversation_id=conversation.id, agent=other)
    assert taken.value.code == "already_taken"

    services.agent_release(conversation_id=conversation.id, agent=agent)
    conversation.refresh_from_db()
    assert conversation.status == Conversation.Status.BOT and conversation.assigned_agent is None


def test_close_asks_for_csat_once(conversation, agent):
    services.agent_take(conversation_id=conversation.id, agent=agent)
    with pytest.raises(ChatError):
        services.csat_record(conversation=conversation, score=5)
    closed, message = services.conversation_close(
        conversation_id=conversation.id, agent=agent, resolution="agent_resolved"
    )
    assert closed.status == Conversation.Status.CLOSED and "1-5" in message.text
    assert services.csat_record(conversation=conversation, score=4).csat == 4
    with pytest.raises(ChatError) as again:
        services.csat_record(conversation=conversation, score=5)
    assert again.value.code == "already_rated"
    with pytest.raises(ChatError) as bad:
        services.conversation_close(conversation_id=conversation.id, agent=agent, resolution="x")
    assert bad.value.code in {"invalid_resolution", "conversation_closed"}


def test_closed_conversation_refuses_messages(conversation):
    services.conversation_close(conversation_id=conversation.id, agent=None, resolution="other")
    with pytest.raises(ChatError) as closed:
        services.message_receive(conversation=conversation, text="hello?", client_msg_id="z")
    assert closed.value.code == "conversation_closed"


def test_history_after_an_id_returns_only_newer_messages(conversation):
    ids = [
        services.message_receive(conversation=conversation, text=f"m{i}", client_msg_id=str(i))[
            0
        ].id
        for i in range(5)
    ]
    assert [
        m.id for m in selectors.messages_after(conversation=conversation, after_id=ids[2])
    ] == ids[3:]
    assert [
        m.id for m in selectors.messages_after(conversation=conversation, after_id=None, limit=2)
    ] == ids[3:]

"""The staff websocket: live waiting list, take, reply, hand back, close; evidence for staff."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async

from apps.chat.models import Conversation, Message
from tests.chat.conftest import CHAT_PATH

pytestmark = pytest.mark.django_db(transaction=True)

AGENT_PATH = "/ws/agent/"


def is_bot_message(frame: dict) -> bool:
    return frame["type"] == "message" and frame["sender"] == "bot"


@database_sync_to_async
def conversation_row(public_id: uuid.UUID | str) -> Conversation:
    return Conversation.objects.select_related("assigned_agent").get(public_id=public_id)


async def customer_waiting(ws_open, text: str = "I need help with something odd"):  # noqa: ANN001, ANN201
    """A customer who asked a question, then asked for a person."""
    customer, _ = await ws_open(CHAT_PATH)
    await customer.send({"type": "message", "text": text, "client_msg_id": "q1"})
    await customer.recv_until(is_bot_message)
    await customer.send({"type": "handoff"})
    await customer.recv_until(lambda f: f["type"] == "handoff")
    return customer, await conversation_row(customer.public_id)


async def test_anonymous_and_non_staff_users_are_refused(ws_open, ws_customer_user):
    """Accepted only to say why: the console needs the close code to stop reconnecting."""
    anonymous, error = await ws_open(AGENT_PATH)
    assert error["type"] == "error" and error["code"] == "not_authenticated"
    assert await anonymous.closed_with() == 4401
    customer, error = await ws_open(AGENT_PATH, cookie=ws_customer_user.cookie)
    assert error["code"] == "not_authenticated"
    assert await customer.closed_with() == 4403


async def test_staff_from_a_foreign_origin_is_refused(ws_open, ws_staff):
    socket, _ = await ws_open(AGENT_PATH, cookie=ws_staff.cookie, origin="http://evil.example")
    assert socket is None


async def test_waiting_list_updates_live_when_a_customer_asks_for_a_person(
    ws_open, ws_staff, ws_kb
):
    agent, queue = await ws_open(AGENT_PATH, cookie=ws_staff.cookie)
    assert queue == {"type": "queue", "waiting": [], "mine": []}

    customer, conversation = await customer_waiting(ws_open)

    frames = await agent.recv_until(lambda f: f["type"] == "queue" and f["waiting"])
    waiting = frames[-1]["waiting"]
    assert [c["id"] for c in waiting] == [conversation.id]
    assert waiting[0]["status"] == "waiting" and waiting[0]["handoff_reason"] == "customer asked"


async def test_agent_takes_over_replies_and_the_bot_stays_silent(ws_open, ws_staff, ws_kb):
    customer, conversation = await customer_waiting(ws_open)
    agent, _ = await ws_open(AGENT_PATH, cookie=ws_staff.cookie)

    await agent.send({"type": "take", "conversation_id": conversation.id})
    detail = (await agent.recv_until(lambda f: f["type"] == "conversation"))[-1]
    assert detail["conversation"]["status"] == "agent"
    assert detail["conversation"]["assigned_agent"] == ws_staff.username
    bot = next(m for m in detail["messages"] if m["sender"] == "bot")
    assert bot["evidence"]["entries"] and "decision" in bot["evidence"]  # staff see evidence

    joined = await customer.recv_until(lambda f: f["type"] == "agent_joined")
    assert joined[-1]["agent_name"] == "Ann" and joined[-1]["status"] == "agent"
    assert any(f.get("sender") == "system" for f in joined)

    # The customer writes: the agent sees it live, the bot does not answer.
    await customer.send(
        {"type": "message", "text": "my card hasn't arrived", "client_msg_id": "q2"}
    )
    seen = await agent.recv_until(lambda f: f["type"] == "message" and f["sender"] == "customer")
    assert seen[-1]["conversation_id"] == conversation.id
    await customer.recv_until(lambda f: f["type"] == "message" and f["sender"] == "customer")
    await customer.assert_quiet(1.0)

    await agent.send(
        {
            "type": "reply",
            "conversation_id": conversation.id,
            "text": "Hi, Ann here.",
            "client_msg_id": "r1",
        }
    )
    ack = (await agent.recv_until(lambda f: f["type"] == "ack"))[-1]
    reply = (await customer.recv_until(lambda f: f["type"] == "message"))[-1]
    assert reply["sender"] == "agent" and reply["text"] == "Hi, Ann here."
    assert reply["id"] == ack["message_id"] and reply["agent_name"] == "Ann"
    assert "agent_username" not in reply and "evidence" not in reply

    senders = await database_sync_to_async(
        lambda: list(
            Message.objects.filter(conversation_id=conversation.id)
            .order_by("id")
            .values_list("sender", flat=True)
        )
    )()
    assert senders == ["customer", "bot", "system", "system", "customer", "agent"]


async def test_agent_typing_reaches_the_customer(ws_open, ws_staff, ws_kb):
    customer, conversation = await customer_waiting(ws_open)
    agent, _ = await ws_open(AGENT_PATH, cookie=ws_staff.cookie)
    await agent.send({"type": "take", "conversation_id": conversation.id})
    await customer.recv_until(lambda f: f["type"] == "agent_joined")
    await agent.send({"type": "typing", "conversation_id": conversation.id})
    typing = (await customer.recv_until(lambda f: f["type"] == "typing"))[-1]
    assert typing == {"type": "typing", "sender": "agent", "active": True}


async def test_hand_back_to_the_bot_lets_it_answer_again(ws_open, ws_staff, ws_kb):
    customer, conversation = await customer_waiting(ws_open)
    agent, _ = await ws_open(AGENT_PATH, cookie=ws_staff.cookie)
    await agent.send({"type": "take", "conversation_id": conversation.id})
    await customer.recv_until(lambda f: f["type"] == "agent_joined")

    await agent.send({"type": "release", "conversation_id": conversation.id})
    left = await customer.recv_until(lambda f: f["type"] == "agent_left")
    assert left[-1]["status"] == "bot"
    assert (await conversation_row(conversation.public_id)).status == "bot"

    await customer.send(
        {"type": "message", "text": "how do I change my pin", "client_msg_id": "q3"}
    )
    answer = (await customer.recv_until(is_bot_message))[-1]
    assert answer["text"] == ws_kb["change_pin"].answer


async def test_close_asks_the_customer_for_satisfaction_once(ws_open, ws_staff, ws_kb):
    customer, conversation = await customer_waiting(ws_open)
    agent, _ = await ws_open(AGENT_PATH, cookie=ws_staff.cookie)
    await agent.send({"type": "take", "conversation_id": conversation.id})
    await agent.send(
        {"type": "close", "conversation_id": conversation.id, "resolution": "agent_resolved"}
    )
    closed = (await customer.recv_until(lambda f: f["type"] == "closed"))[-1]
    assert closed["csat_requested"] is True and closed["resolution"] == "agent_resolved"

    await customer.send({"type": "csat", "score": 4})
    assert (await customer.recv_until(lambda f: f["type"] == "csat"))[-1]["score"] == 4
    await customer.send({"type": "csat", "score": 5})
    error = (await customer.recv_until(lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "already_rated"
    row = await conversation_row(conversation.public_id)
    assert (row.status, row.resolution, row.csat) == ("closed", "agent_resolved", 4)


async def test_a_second_agent_cannot_take_a_taken_conversation(ws_open, ws_staff, ws_kb):
    from django.contrib.auth import get_user_model
    from django.test import Client

    customer, conversation = await customer_waiting(ws_open)

    def other_cookie() -> str:
        other = get_user_model().objects.create_user(
            "agent-otto", password="pw-otto-123456", is_staff=True
        )
        client = Client()
        client.force_login(other)
        return f"sessionid={client.cookies['sessionid'].value}"

    first, _ = await ws_open(AGENT_PATH, cookie=ws_staff.cookie)
    second, _ = await ws_open(AGENT_PATH, cookie=await database_sync_to_async(other_cookie)())
    await first.send({"type": "take", "conversation_id": conversation.id})
    await first.recv_until(lambda f: f["type"] == "conversation")

    await second.send({"type": "take", "conversation_id": conversation.id})
    error = (await second.recv_until(lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "already_taken" and error["conversation_id"] == conversation.id
    await second.send(
        {
            "type": "reply",
            "conversation_id": conversation.id,
            "text": "me too",
            "client_msg_id": "x",
        }
    )
    error = (await second.recv_until(lambda f: f["type"] == "error"))[-1]
    assert error["code"] == "not_your_conversation"


async def test_opening_an_unknown_conversation_is_an_error_frame(ws_open, ws_staff):
    agent, _ = await ws_open(AGENT_PATH, cookie=ws_staff.cookie)
    await agent.send({"type": "open", "conversation_id": 999999})
    error = await agent.recv()
    assert error["type"] == "error" and error["code"] == "unknown_conversation"
    await agent.send({"type": "close", "conversation_id": 1, "resolution": "solved?"})
    assert (await agent.recv())["code"] == "invalid_field"

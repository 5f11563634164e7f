"""A customer who types that they want a person is queued for an agent, not answered."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async

from apps.chat.models import Conversation, Message, UnansweredQuestion
from tests.chat.conftest import CHAT_PATH

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def stored(public_id: str) -> tuple[Conversation, list[Message]]:
    conversation = Conversation.objects.get(public_id=public_id)
    return conversation, list(conversation.messages.order_by("id"))


async def test_typed_request_for_a_person_queues_the_conversation(ws_open, ws_kb, settings):
    settings.CHAT_BOT_TYPING_DELAY_MS = 0  # the typing frame always, to see that it ends
    socket, _ = await ws_open(CHAT_PATH)

    # Worded unlike every built-in request phrasing.
    await socket.send(
        {"type": "message", "text": "could I please chat with a human being", "client_msg_id": "h1"}
    )
    frames = await socket.recv_until(lambda f: f["type"] == "handoff")

    notice = next(f for f in frames if f["type"] == "message" and f["sender"] == "system")
    assert "finding a person" in notice["text"]
    assert frames[-1] == {"type": "handoff", "status": "waiting"}
    # The bot stops typing: a system message does not end it by itself.
    types = [(f["type"], f.get("active")) for f in frames]
    assert types.index(("typing", False)) > types.index(("typing", True))
    assert not any(f["type"] == "message" and f["sender"] == "bot" for f in frames)

    conversation, messages = await stored(socket.public_id)
    assert conversation.status == Conversation.Status.WAITING
    assert conversation.handoff_reason == "customer asked in chat"
    question, queued = messages
    assert queued.reply_to_id == question.id and queued.sender == Message.Sender.SYSTEM
    match = queued.evidence["handoff_request"]
    assert queued.evidence["decision"] == "handoff_request"
    assert match["similarity"] >= match["threshold"]
    # Asking for a person is not a gap in the knowledge base.
    assert not await database_sync_to_async(UnansweredQuestion.objects.exists)()


async def test_an_ordinary_question_is_answered_and_records_how_far_it_was(ws_open, ws_kb):
    socket, _ = await ws_open(CHAT_PATH)

    await socket.send(
        {"type": "message", "text": "my card hasn't arrived yet", "client_msg_id": "q1"}
    )
    frames = await socket.recv_until(lambda f: f["type"] == "message" and f["sender"] == "bot")

    assert frames[-1]["kind"] == "answer"
    conversation, messages = await stored(socket.public_id)
    assert conversation.status == Conversation.Status.BOT
    match = messages[-1].evidence["handoff_request"]
    assert match["similarity"] < match["threshold"]


async def test_detection_can_be_switched_off(ws_open, ws_kb, settings):
    settings.CHAT_HANDOFF_REQUEST_SIMILARITY = 1.01
    socket, _ = await ws_open(CHAT_PATH)

    await socket.send(
        {"type": "message", "text": "I want to talk to a human", "client_msg_id": "x"}
    )
    frames = await socket.recv_until(lambda f: f["type"] == "message" and f["sender"] == "bot")

    conversation, messages = await stored(socket.public_id)
    assert conversation.status == Conversation.Status.BOT
    assert messages[-1].evidence["handoff_request"] is None
    assert frames[-1]["kind"] in {"answer", "suggestions", "handoff_offer"}

"""The customer websocket: history, persist-then-answer, acks, resume, feedback, metrics."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async

from apps.chat import services
from apps.chat.models import Conversation, Message
from apps.core.metrics import WEBSOCKET_CONNECTIONS

pytestmark = pytest.mark.django_db(transaction=True)


def chat_path(public_id: uuid.UUID, query: str = "") -> str:
    return f"/ws/chat/{public_id}/" + (f"?{query}" if query else "")


@database_sync_to_async
def seed_conversation(texts: list[str]) -> tuple[Conversation, list[Message]]:
    conversation = services.conversation_get_or_create(public_id=uuid.uuid4())
    messages = [
        services.message_receive(conversation=conversation, text=text, client_msg_id=f"seed-{i}")[0]
        for i, text in enumerate(texts)
    ]
    return conversation, messages


@database_sync_to_async
def rows(public_id: uuid.UUID) -> list[tuple[str, str, str]]:
    return list(
        Message.objects.filter(conversation__public_id=public_id)
        .order_by("id")
        .values_list("sender", "kind", "text")
    )


def is_bot_message(frame: dict) -> bool:
    return frame["type"] == "message" and frame["sender"] == "bot"


async def test_history_on_connect_has_the_last_messages_without_evidence(ws_open, settings):
    settings.CHAT_HISTORY_LIMIT = 3
    conversation, messages = await seed_conversation([f"question {i}" for i in range(5)])

    socket, history = await ws_open(chat_path(conversation.public_id))

    assert history["type"] == "history"
    assert history["conversation"]["id"] == str(conversation.public_id)
    assert history["conversation"]["status"] == "bot"
    assert [m["id"] for m in history["messages"]] == [m.id for m in messages[-3:]]
    assert [m["text"] for m in history["messages"]] == ["question 2", "question 3", "question 4"]
    assert history["has_more"] is True
    assert all("evidence" not in m for m in history["messages"])


async def test_new_conversation_starts_with_an_empty_history(ws_open):
    public_id = uuid.uuid4()
    socket, history = await ws_open(chat_path(public_id, "customer=cust-42"))
    assert history["messages"] == [] and history["has_more"] is False
    conversation = await database_sync_to_async(Conversation.objects.get)(public_id=public_id)
    assert conversation.customer_ref == "cust-42"


async def test_message_is_saved_and_acked_before_the_bot_answers(ws_open, ws_kb):
    public_id = uuid.uuid4()
    socket, _ = await ws_open(chat_path(public_id))

    await socket.send(
        {"type": "message", "text": "my card hasn't arrived yet", "client_msg_id": "c1"}
    )
    frames = await socket.recv_until(is_bot_message)

    types = [f["type"] for f in frames]
    ack = frames[types.index("ack")]
    mine = next(f for f in frames if f["type"] == "message" and f["sender"] == "customer")
    answer = frames[-1]
    # Order on the wire: the ack and our own message come before the answer.
    assert types.index("ack") < len(frames) - 1 and frames.index(mine) < len(frames) - 1
    assert ack == {
        "type": "ack",
        "client_msg_id": "c1",
        "message_id": mine["id"],
        "duplicate": False,
    }
    assert mine["client_msg_id"] == "c1" and mine["text"] == "my card hasn't arrived yet"
    assert answer["kind"] == "answer" and answer["id"] > mine["id"]
    assert answer["text"] == ws_kb["card_arrival"].answer
    assert "evidence" not in answer

    stored = await database_sync_to_async(
        lambda: list(Message.objects.filter(conversation__public_id=public_id).order_by("id"))
    )()
    assert [m.sender for m in stored] == ["customer", "bot"]
    assert stored[1].reply_to_id == stored[0].id and stored[1].evidence["entries"]


async def test_resent_message_after_reconnect_is_acked_not_duplicated(ws_open, ws_kb):
    public_id = uuid.uuid4()
    first, _ = await ws_open(chat_path(public_id))
    await first.send({"type": "message", "text": "how do I change my pin", "client_msg_id": "r1"})
    frames = await first.recv_until(is_bot_message)
    message_id = next(f for f in frames if f["type"] == "ack")["message_id"]
    await first.close()

    # The widget never saw the ack (say): it reconnects after the last id it knew and resends.
    second, history = await ws_open(chat_path(public_id, f"after={message_id - 1}"))
    assert [m["id"] for m in history["messages"]][0] == message_id
    await second.send({"type": "message", "text": "how do I change my pin", "client_msg_id": "r1"})
    ack = await second.recv()
    assert ack == {
        "type": "ack",
        "client_msg_id": "r1",
        "message_id": message_id,
        "duplicate": True,
    }
    await second.assert_quiet(0.5)  # no second copy, no second answer
    assert [sender for sender, _, _ in await rows(public_id)] == ["customer", "bot"]


async def test_resume_after_an_id_sends_only_newer_messages(ws_open):
    conversation, messages = await seed_conversation(["one", "two", "three", "four"])

    socket, history = await ws_open(chat_path(conversation.public_id, f"after={messages[1].id}"))
    assert [m["text"] for m in history["messages"]] == ["three", "four"]
    assert history["after_id"] == messages[1].id

    await socket.send({"type": "resume", "after_id": messages[2].id})
    resumed = await socket.recv()
    assert resumed["type"] == "history" and [m["text"] for m in resumed["messages"]] == ["four"]


async def test_resume_pages_through_more_than_one_history_limit(ws_open, settings):
    settings.CHAT_HISTORY_LIMIT = 2
    conversation, messages = await seed_conversation([f"m{i}" for i in range(5)])

    socket, history = await ws_open(chat_path(conversation.public_id, "after=0"))
    assert [m["id"] for m in history["messages"]] == [m.id for m in messages]


async def test_feedback_on_a_bot_answer_is_saved_and_broadcast(ws_open, ws_kb):
    public_id = uuid.uuid4()
    socket, _ = await ws_open(chat_path(public_id))
    other_tab, _ = await ws_open(chat_path(public_id))
    await socket.send({"type": "message", "text": "I lost my card", "client_msg_id": "f1"})
    answer = (await socket.recv_until(is_bot_message))[-1]

    await socket.send({"type": "feedback", "message_id": answer["id"], "value": -1})
    frames = await other_tab.recv_until(lambda f: f["type"] == "feedback")
    assert frames[-1] == {"type": "feedback", "message_id": answer["id"], "value": -1}
    stored = await database_sync_to_async(Message.objects.get)(id=answer["id"])
    assert stored.feedback == -1

    customer_id = next(f for f in frames if f.get("sender") == "customer")["id"]
    await socket.recv_until(lambda f: f["type"] == "feedback")
    await socket.send({"type": "feedback", "message_id": customer_id, "value": 1})
    error = await socket.recv()
    assert error["type"] == "error" and error["code"] == "unknown_message"


async def test_every_tab_of_a_conversation_sees_the_same_stream(ws_open, ws_kb):
    public_id = uuid.uuid4()
    tab_a, _ = await ws_open(chat_path(public_id))
    tab_b, _ = await ws_open(chat_path(public_id))
    await tab_a.send({"type": "message", "text": "where is my new card", "client_msg_id": "t1"})
    seen_a = [f for f in await tab_a.recv_until(is_bot_message) if f["type"] == "message"]
    seen_b = [f for f in await tab_b.recv_until(is_bot_message) if f["type"] == "message"]
    assert [f["id"] for f in seen_a] == [f["id"] for f in seen_b]
    assert [f["sender"] for f in seen_b] == ["customer", "bot"]


async def test_connection_gauge_counts_open_sockets(ws_open):
    gauge = WEBSOCKET_CONNECTIONS.labels(consumer="chat")
    before = gauge._value.get()
    socket, _ = await ws_open(chat_path(uuid.uuid4()))
    assert gauge._value.get() == before + 1
    await socket.close()
    assert gauge._value.get() == before


async def test_idle_close_task_reaches_open_sockets(ws_open, settings):
    """The beat task that closes idle conversations tells open widgets and asks for CSAT."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.chat import tasks

    public_id = uuid.uuid4()
    socket, _ = await ws_open(chat_path(public_id))

    def close_idle() -> None:
        idle_since = timezone.now() - timedelta(minutes=settings.CHAT_IDLE_CLOSE_MINUTES + 1)
        Conversation.objects.filter(public_id=public_id).update(updated_at=idle_since)
        assert tasks.close_idle_conversations() == 1

    await database_sync_to_async(close_idle, thread_sensitive=False)()
    frames = await socket.recv_until(lambda f: f["type"] == "closed")
    assert frames[0]["type"] == "message" and frames[0]["sender"] == "system"
    assert frames[-1]["resolution"] == "abandoned" and frames[-1]["csat_requested"] is True

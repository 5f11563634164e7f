"""The customer websocket: history, persist-then-answer, acks, resume, feedback, metrics."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async

from apps.chat.models import Conversation, Message
from apps.core.metrics import WEBSOCKET_CONNECTIONS
from tests.chat.conftest import CHAT_PATH, ws_conversation_seed

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def seed_conversation(texts: list[str]) -> tuple[Conversation, str, list[Message]]:
    return ws_conversation_seed(texts)


async def start_conversation(ws_open, text: str, client_msg_id: str = "c1", ip=None):  # noqa: ANN001, ANN201
    """A socket whose first message started a conversation: (socket, frames up to the ack)."""
    socket, _ = await ws_open(CHAT_PATH, ip=ip)
    await socket.send({"type": "message", "text": text, "client_msg_id": client_msg_id})
    return socket, await socket.recv_until(lambda f: f["type"] == "ack")


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
    conversation, token, messages = await seed_conversation([f"question {i}" for i in range(5)])

    socket, history = await ws_open(CHAT_PATH, hello={"token": token})

    assert history["type"] == "history"
    assert history["conversation"]["id"] == str(conversation.public_id)
    assert history["conversation"]["status"] == "bot"
    assert [m["id"] for m in history["messages"]] == [m.id for m in messages[-3:]]
    assert [m["text"] for m in history["messages"]] == ["question 2", "question 3", "question 4"]
    assert history["has_more"] is True
    assert all("evidence" not in m for m in history["messages"])


async def test_new_conversation_starts_with_an_empty_history(ws_open):
    socket, history = await ws_open(CHAT_PATH, hello={"customer": "cust-42"})
    assert history["messages"] == [] and history["has_more"] is False
    assert history["conversation"] is None


async def test_message_is_saved_and_acked_before_the_bot_answers(ws_open, ws_kb):
    socket, frames = await start_conversation(ws_open, "my card hasn't arrived yet")
    public_id = socket.public_id
    frames += await socket.recv_until(is_bot_message)

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


async def test_first_message_resent_by_a_reloaded_page_finds_its_conversation(ws_open, ws_kb):
    # The page reloads right after its first message: the message starts a conversation, but
    # `conversation_started` (the token) never reaches the widget, which resends the message
    # from localStorage on its new socket, without a token.
    ip, msg_id = "10.9.8.7", str(uuid.uuid4())
    first, frames = await start_conversation(ws_open, "how do I change my pin", msg_id, ip)
    await first.recv_until(is_bot_message)
    message_id = next(f for f in frames if f["type"] == "ack")["message_id"]
    await first.close()

    second, history = await ws_open(CHAT_PATH, ip=ip)
    assert history["conversation"] is None
    await second.send(
        {"type": "message", "text": "how do I change my pin", "client_msg_id": msg_id}
    )
    frames = await second.recv_until(lambda f: f["type"] == "history")
    started, ack, history = frames
    assert started["type"] == "conversation_started" and started["conversation"]["id"] == (
        first.public_id
    )
    assert ack == {
        "type": "ack",
        "client_msg_id": msg_id,
        "message_id": message_id,
        "duplicate": True,
    }
    # The answer went to the old socket: the whole history comes with the conversation.
    assert [m["sender"] for m in history["messages"]] == ["customer", "bot"]
    await second.assert_quiet(0.5)  # no second answer
    assert await database_sync_to_async(Conversation.objects.count)() == 1

    # From another address, or with a guessable id, the same resend starts a new conversation.
    third, _ = await ws_open(CHAT_PATH, ip="10.9.8.6")
    await third.send({"type": "message", "text": "how do I change my pin", "client_msg_id": msg_id})
    new = (await third.recv_until(lambda f: f["type"] == "conversation_started"))[-1]
    assert new["conversation"]["id"] != first.public_id
    assert await database_sync_to_async(Conversation.objects.count)() == 2


async def test_resent_message_after_reconnect_is_acked_not_duplicated(ws_open, ws_kb):
    first, frames = await start_conversation(ws_open, "how do I change my pin", "r1")
    public_id, token = first.public_id, first.token
    await first.recv_until(is_bot_message)
    message_id = next(f for f in frames if f["type"] == "ack")["message_id"]
    await first.close()

    # The widget never saw the ack (say): it reconnects after the last id it knew and resends.
    second, history = await ws_open(CHAT_PATH, hello={"token": token, "after_id": message_id - 1})
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
    conversation, token, messages = await seed_conversation(["one", "two", "three", "four"])

    socket, history = await ws_open(CHAT_PATH, hello={"token": token, "after_id": messages[1].id})
    assert [m["text"] for m in history["messages"]] == ["three", "four"]
    assert history["after_id"] == messages[1].id

    await socket.send({"type": "resume", "after_id": messages[2].id})
    resumed = await socket.recv()
    assert resumed["type"] == "history" and [m["text"] for m in resumed["messages"]] == ["four"]


async def test_resume_pages_through_more_than_one_history_limit(ws_open, settings):
    settings.CHAT_HISTORY_LIMIT = 2
    conversation, token, messages = await seed_conversation([f"m{i}" for i in range(5)])

    socket, history = await ws_open(CHAT_PATH, hello={"token": token, "after_id": 0})
    assert [m["id"] for m in history["messages"]] == [m.id for m in messages]


async def test_feedback_on_a_bot_answer_is_saved_and_broadcast(ws_open, ws_kb):
    socket, _ = await start_conversation(ws_open, "I lost my card", "f1")
    other_tab, _ = await ws_open(CHAT_PATH, hello={"token": socket.token})
    answer = (await socket.recv_until(is_bot_message))[-1]

    await socket.send({"type": "feedback", "message_id": answer["id"], "value": -1})
    frames = await other_tab.recv_until(lambda f: f["type"] == "feedback")
    assert frames[-1] == {"type": "feedback", "message_id": answer["id"], "value": -1}
    stored = await database_sync_to_async(Message.objects.get)(id=answer["id"])
    assert stored.feedback == -1

    customer_id = await database_sync_to_async(
        lambda: Message.objects.get(sender="customer", client_msg_id="f1").id
    )()
    await socket.recv_until(lambda f: f["type"] == "feedback")
    await socket.send({"type": "feedback", "message_id": customer_id, "value": 1})
    error = await socket.recv()
    assert error["type"] == "error" and error["code"] == "unknown_message"


async def test_every_tab_of_a_conversation_sees_the_same_stream(ws_open, ws_kb):
    conversation, token, _ = await seed_conversation([])
    tab_a, _ = await ws_open(CHAT_PATH, hello={"token": token})
    tab_b, _ = await ws_open(CHAT_PATH, hello={"token": token})
    await tab_a.send({"type": "message", "text": "where is my new card", "client_msg_id": "t1"})
    seen_a = [f for f in await tab_a.recv_until(is_bot_message) if f["type"] == "message"]
    seen_b = [f for f in await tab_b.recv_until(is_bot_message) if f["type"] == "message"]
    assert [f["id"] for f in seen_a] == [f["id"] for f in seen_b]
    assert [f["sender"] for f in seen_b] == ["customer", "bot"]


async def test_connection_gauge_counts_open_sockets(ws_open):
    gauge = WEBSOCKET_CONNECTIONS.labels(consumer="chat")
    before = gauge._value.get()
    socket, _ = await ws_open(CHAT_PATH)
    assert gauge._value.get() == before + 1
    await socket.close()
    assert gauge._value.get() == before


async def test_idle_close_task_reaches_open_sockets(ws_open, settings):
    """The beat task that closes idle conversations tells open widgets and asks for CSAT."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.chat import tasks

    conversation, token, _ = await seed_conversation([])
    public_id = conversation.public_id
    socket, _ = await ws_open(CHAT_PATH, hello={"token": token})

    def close_idle() -> None:
        idle_since = timezone.now() - timedelta(minutes=settings.CHAT_IDLE_CLOSE_MINUTES + 1)
        Conversation.objects.filter(public_id=public_id).update(updated_at=idle_since)
        assert tasks.close_idle_conversations() == 1

    await database_sync_to_async(close_idle, thread_sensitive=False)()
    frames = await socket.recv_until(lambda f: f["type"] == "closed")
    assert frames[0]["type"] == "message" and frames[0]["sender"] == "system"
    assert frames[-1]["resolution"] == "abandoned" and frames[-1]["csat_requested"] is True

"""The customer websocket refuses bad frames with error frames, stays open, saves nothing."""

from __future__ import annotations

import uuid

import pytest
from channels.db import database_sync_to_async

from apps.chat.models import Conversation, Message
from tests.chat.conftest import CHAT_PATH, ws_conversation_seed

pytestmark = pytest.mark.django_db(transaction=True)


@database_sync_to_async
def message_count(public_id: uuid.UUID | str | None = None, sender: str = "customer") -> int:
    messages = Message.objects.filter(sender=sender)
    if public_id is not None:
        messages = messages.filter(conversation__public_id=public_id)
    return messages.count()


@database_sync_to_async
def waiting_conversation() -> tuple[str, str]:
    """A conversation a person is on the way to (the bot stays out): (public id, token)."""
    conversation, token, _ = ws_conversation_seed()
    Conversation.objects.filter(id=conversation.id).update(status="waiting")
    return str(conversation.public_id), token


async def assert_still_open(socket) -> None:  # noqa: ANN001
    await socket.send({"type": "ping"})
    assert await socket.recv() == {"type": "pong"}


async def test_too_long_message_is_refused_and_not_saved(ws_open, settings):
    settings.CHAT_MAX_MESSAGE_CHARS = 50
    socket, history = await ws_open(CHAT_PATH)
    assert history["limits"]["max_message_chars"] == 50

    await socket.send({"type": "message", "text": "x" * 51, "client_msg_id": "long-1"})
    error = await socket.recv()
    assert error["type"] == "error" and error["code"] == "message_too_long"
    assert error["client_msg_id"] == "long-1" and "50" in error["message"]
    await assert_still_open(socket)
    assert await message_count() == 0


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("{not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('{"text": "no type"}', "invalid_frame"),
        ('{"type": "shout", "text": "hi"}', "unknown_type"),
        ('{"type": "message", "text": "hi"}', "missing_field"),
        ('{"type": "message", "client_msg_id": "m"}', "missing_field"),
        ('{"type": "message", "text": 5, "client_msg_id": "m"}', "invalid_field"),
        ('{"type": "message", "text": "   ", "client_msg_id": "m"}', "empty_message"),
        ('{"type": "feedback", "message_id": 1, "value": 2}', "invalid_field"),
        ('{"type": "feedback", "message_id": true, "value": 1}', "invalid_field"),
        ('{"type": "csat", "score": 9}', "invalid_field"),
        ('{"type": "resume", "after_id": -1}', "invalid_field"),
        (
            '{"type": "message", "text": "' + "y" * 20000 + '", "client_msg_id": "m"}',
            "frame_too_large",
        ),
    ],
)
async def test_malformed_frames_get_error_frames_and_the_socket_stays_open(ws_open, raw, code):
    socket, _ = await ws_open(CHAT_PATH)
    await socket.send(raw)
    error = await socket.recv()
    assert error["type"] == "error" and error["code"] == code, error
    assert error["message"]
    await assert_still_open(socket)
    assert await message_count() == 0


async def test_binary_frames_are_refused(ws_open):
    socket, _ = await ws_open(CHAT_PATH)
    await socket.communicator.send_to(bytes_data=b"\x00\x01")
    assert (await socket.recv())["code"] == "invalid_frame"
    await assert_still_open(socket)


async def test_messages_per_minute_per_conversation_are_limited(ws_open, settings):
    settings.CHAT_RATE_PER_MINUTE_CONVERSATION = 3
    public_id, token = await waiting_conversation()
    socket, _ = await ws_open(CHAT_PATH, hello={"token": token})

    acks = []
    for i in range(3):
        await socket.send({"type": "message", "text": f"hello {i}", "client_msg_id": f"rl-{i}"})
        acks += [f for f in await socket.recv_until(lambda f: f["type"] == "ack")]
    await socket.send({"type": "message", "text": "one too many", "client_msg_id": "rl-3"})
    frames = await socket.recv_until(lambda f: f["type"] == "error")
    error = frames[-1]
    assert error["code"] == "rate_limited" and error["client_msg_id"] == "rl-3"
    assert 1 <= error["retry_after_s"] <= 60
    assert await message_count(public_id) == 3

    # A second tab of the same conversation shares the budget, even from another address.
    other_tab, _ = await ws_open(CHAT_PATH, hello={"token": token})
    await other_tab.send({"type": "message", "text": "from tab 2", "client_msg_id": "rl-4"})
    frames = await other_tab.recv_until(lambda f: f["type"] in ("error", "ack"))
    assert frames[-1]["code"] == "rate_limited"
    await assert_still_open(other_tab)


async def test_messages_per_minute_per_address_are_limited_across_conversations(ws_open, settings):
    settings.CHAT_RATE_PER_MINUTE_IP = 2
    ip = "10.99.{}.{}".format(*uuid.uuid4().bytes[:2])
    (first, first_token), (second, second_token) = [await waiting_conversation() for _ in "ab"]
    socket_a, _ = await ws_open(CHAT_PATH, ip=ip, hello={"token": first_token})
    socket_b, _ = await ws_open(CHAT_PATH, ip=ip, hello={"token": second_token})

    await socket_a.send({"type": "message", "text": "a1", "client_msg_id": "a1"})
    await socket_a.recv_until(lambda f: f["type"] == "ack")
    await socket_b.send({"type": "message", "text": "b1", "client_msg_id": "b1"})
    await socket_b.recv_until(lambda f: f["type"] == "ack")
    await socket_b.send({"type": "message", "text": "b2", "client_msg_id": "b2"})
    frames = await socket_b.recv_until(lambda f: f["type"] in ("ack", "error"))
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "rate_limited"
    assert "address" in frames[-1]["message"]

    # Another address is not affected.
    socket_c, _ = await ws_open(CHAT_PATH, hello={"token": second_token})
    await socket_c.send({"type": "message", "text": "c1", "client_msg_id": "c1"})
    frames = await socket_c.recv_until(lambda f: f["type"] in ("ack", "error"))
    assert frames[-1]["type"] == "ack"
    assert await message_count(first) == 1 and await message_count(second) == 2


async def test_messages_on_a_closed_conversation_are_refused(ws_open):
    public_id, token = await waiting_conversation()
    socket, _ = await ws_open(CHAT_PATH, hello={"token": token})
    await database_sync_to_async(
        lambda: Conversation.objects.filter(public_id=public_id).update(status="closed")
    )()
    await socket.send({"type": "message", "text": "anyone?", "client_msg_id": "x1"})
    error = await socket.recv()
    assert error["code"] == "conversation_closed" and error["client_msg_id"] == "x1"
    assert await message_count(public_id) == 0


@pytest.mark.parametrize("origin", ["http://evil.example", "https://testserver.evil.example", None])
async def test_foreign_or_missing_origin_is_refused(ws_open, origin):
    socket, _ = await ws_open(CHAT_PATH, origin=origin)
    assert socket is None


async def test_allowed_origin_is_accepted(ws_open):
    socket, history = await ws_open(
        CHAT_PATH, origin="http://localhost:8000", host="localhost:8000"
    )
    assert socket is not None and history["type"] == "history"


async def test_text_comes_back_as_sent_for_the_client_to_render_as_text(ws_open):
    _, token = await waiting_conversation()
    socket, _ = await ws_open(CHAT_PATH, hello={"token": token})
    payload = '<img src=x onerror="alert(1)"> & <b>bold</b>'
    await socket.send({"type": "message", "text": payload, "client_msg_id": "h1"})
    frames = await socket.recv_until(lambda f: f["type"] == "message")
    # Not HTML-escaped twice, not stripped: the widget renders it with textContent.
    assert frames[-1]["text"] == payload


async def test_sites_listed_in_chat_widget_origins_may_embed_the_widget(ws_open, settings):
    embedding_site = "https://shop.example.com"
    refused, _ = await ws_open(CHAT_PATH, origin=embedding_site)
    assert refused is None

    settings.CHAT_WIDGET_ORIGINS = [embedding_site]
    socket, history = await ws_open(CHAT_PATH, origin=embedding_site)
    assert socket is not None and history["type"] == "history"

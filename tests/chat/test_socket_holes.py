"""Holes found by probing the chat sockets (issue 15): each test failed before its fix."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from django.core import signing

from apps.chat.models import Conversation, Message
from tests.chat.conftest import CHAT_PATH, ws_conversation_seed, ws_random_ip

pytestmark = pytest.mark.django_db(transaction=True)

AGENT_PATH = "/ws/agent/"
NESTED = "[" * 7000  # 7 KB, under the 16 KiB frame limit; json.loads hit RecursionError on it


async def assert_still_open(socket) -> None:  # noqa: ANN001
    await socket.send({"type": "ping"})
    assert await socket.recv() == {"type": "pong"}


@database_sync_to_async
def conversation_count() -> int:
    return Conversation.objects.count()


@pytest.mark.parametrize("raw", [NESTED, '{"type": "ping", "x": ' + "[" * 7000 + "]" * 7000 + "}"])
async def test_deeply_nested_json_is_an_error_frame_on_the_customer_socket(ws_open, raw):
    socket, _ = await ws_open(CHAT_PATH)
    await socket.send(raw)
    error = await socket.recv()
    assert error["type"] == "error" and error["code"] == "frame_too_deep"
    await assert_still_open(socket)


async def test_deeply_nested_json_is_an_error_frame_on_the_agent_socket(ws_open, ws_staff):
    agent, queue = await ws_open(AGENT_PATH, cookie=ws_staff.cookie)
    assert queue["type"] == "queue"
    await agent.send(NESTED)
    error = await agent.recv()
    assert error["type"] == "error" and error["code"] == "frame_too_deep"
    await agent.send({"type": "ping"})
    assert await agent.recv() == {"type": "pong"}


async def test_brackets_inside_strings_do_not_count_as_nesting(ws_open):
    socket, _ = await ws_open(CHAT_PATH, hello={"customer": "c-1"})
    text = "[[[[[[[[[[{{{{{{{{{{ a list of brackets"
    await socket.send({"type": "message", "text": text, "client_msg_id": "b1"})
    frames = await socket.recv_until(lambda f: f["type"] in ("ack", "error"))
    assert frames[-1]["type"] == "ack"


@pytest.mark.parametrize(
    "path",
    [
        "/ws/chat/1/",
        "/ws/chat/5D0C4B1E-9A3B-4C2D-8E1F-0A1B2C3D4E5F/",
        "/ws/chat/5d0c4b1e-9a3b-4c2d-8e1f-0a1b2c3d4e5f/",  # the old URL with the id in it
        "/ws/nothing/",
        "/",
    ],
)
async def test_unknown_websocket_paths_are_refused_cleanly(ws_open, path):
    socket, code = await ws_open(path)
    assert socket is None and code == 4404


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://127.0.0.1:9999", "127.0.0.1:8000"),  # another port of the same host
        ("https://127.0.0.1:8000", "127.0.0.1:8000"),  # https page, plain ws socket
        ("http://127.0.0.1", "127.0.0.1:8000"),  # default port 80 is another port
        ("http://localhost:8000", "127.0.0.1:8000"),  # another host, also allowed
        ("http://evil.example:8000", "evil.example:8000"),  # the Host is not allowed
        ("null", "127.0.0.1:8000"),  # sandboxed iframes and file:// pages
    ],
)
async def test_origin_must_match_scheme_host_and_port(ws_open, ws_staff, origin, host):
    customer, _ = await ws_open(CHAT_PATH, origin=origin, host=host)
    agent, _ = await ws_open(AGENT_PATH, origin=origin, host=host, cookie=ws_staff.cookie)
    assert customer is None and agent is None


async def test_own_origin_with_default_ports_is_accepted(ws_open, ws_staff):
    socket, history = await ws_open(CHAT_PATH, origin="http://127.0.0.1", host="127.0.0.1:80")
    assert socket is not None and history["type"] == "history"
    agent, queue = await ws_open(
        AGENT_PATH, origin="http://127.0.0.1:8000", host="127.0.0.1:8000", cookie=ws_staff.cookie
    )
    assert agent is not None and queue["type"] == "queue"


async def test_widget_origins_compare_ports_and_never_open_the_agent_socket(
    ws_open, ws_staff, settings
):
    settings.CHAT_WIDGET_ORIGINS = ["https://shop.example.com"]
    socket, _ = await ws_open(CHAT_PATH, origin="https://shop.example.com:443")
    assert socket is not None
    wrong_port, _ = await ws_open(CHAT_PATH, origin="https://shop.example.com:8443")
    plain_http, _ = await ws_open(CHAT_PATH, origin="http://shop.example.com")
    assert wrong_port is None and plain_http is None
    agent, _ = await ws_open(AGENT_PATH, origin="https://shop.example.com", cookie=ws_staff.cookie)
    assert agent is None


async def test_connects_without_a_message_create_no_conversation(ws_open):
    for _ in range(40):
        socket, history = await ws_open(CHAT_PATH)
        assert history["conversation"] is None and history["messages"] == []
        await socket.send({"type": "typing"})
        await socket.close()
    assert await conversation_count() == 0


async def test_the_first_message_creates_the_conversation_and_hands_out_its_token(ws_open):
    socket, _ = await ws_open(CHAT_PATH, hello={"customer": "cust-42"})
    await socket.send({"type": "message", "text": "hello there", "client_msg_id": "m1"})
    frames = await socket.recv_until(lambda f: f["type"] == "ack")
    started = next(f for f in frames if f["type"] == "conversation_started")
    assert frames.index(started) < len(frames) - 1  # before the ack
    conversation = await database_sync_to_async(Conversation.objects.get)()
    assert started["conversation"]["id"] == str(conversation.public_id)
    assert conversation.customer_ref == "cust-42"
    saved = await database_sync_to_async(lambda: list(conversation.messages.all()))()
    assert [m.text for m in saved][:1] == ["hello there"]

    # A reload resumes it with the token, the second message goes to the same conversation.
    again, history = await ws_open(CHAT_PATH, hello={"token": started["token"]})
    assert history["conversation"]["id"] == str(conversation.public_id)
    assert history["messages"][0]["text"] == "hello there"
    assert await conversation_count() == 1


async def test_asking_for_a_person_first_creates_the_conversation(ws_open):
    socket, _ = await ws_open(CHAT_PATH)
    await socket.send({"type": "handoff"})
    frames = await socket.recv_until(lambda f: f["type"] == "handoff")
    assert frames[0]["type"] == "conversation_started"
    row = await database_sync_to_async(Conversation.objects.get)()
    assert row.status == "waiting"


async def test_the_conversation_id_alone_does_not_open_the_history(ws_open):
    conversation, token, _ = await database_sync_to_async(ws_conversation_seed)(["my secret"])
    public_id = str(conversation.public_id)
    forgeries = [
        public_id,
        token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB"),
        signing.dumps(public_id),  # signed, but not for conversations
        signing.dumps(public_id, salt="apps.chat.conversation-token", key="guessed-key"),
    ]

    socket, _ = await ws_open(CHAT_PATH)
    for forged in forgeries:
        await socket.send({"type": "hello", "token": forged})
        error = await socket.recv()
        assert error["type"] == "error" and error["code"] == "invalid_token"
        # Nothing of the conversation reaches this socket, not even live messages.
        await socket.send({"type": "resume", "after_id": 0})
        assert (await socket.recv())["code"] == "no_conversation"

    owner, history = await ws_open(CHAT_PATH, hello={"token": token})
    assert [m["text"] for m in history["messages"]] == ["my secret"]
    await owner.send({"type": "message", "text": "more secrets", "client_msg_id": "s2"})
    await owner.recv_until(lambda f: f["type"] == "ack")
    await socket.assert_quiet(0.5)


async def test_a_token_stops_working_when_its_conversation_is_deleted(ws_open):
    conversation, token, _ = await database_sync_to_async(ws_conversation_seed)(["bye"])
    await database_sync_to_async(conversation.delete)()
    socket, error = await ws_open(CHAT_PATH, hello={"token": token})
    assert error["code"] == "invalid_token"
    await assert_still_open(socket)


async def test_connects_above_the_per_address_limit_are_refused(ws_open, settings):
    settings.CHAT_CONNECTS_PER_MINUTE_IP = 3
    ip = ws_random_ip()
    for _ in range(3):
        socket, _ = await ws_open(CHAT_PATH, ip=ip)
        assert socket is not None
    refused, code = await ws_open(CHAT_PATH, ip=ip)
    assert refused is None and code == 4429
    other, _ = await ws_open(CHAT_PATH, ip=ws_random_ip())
    assert other is not None


async def test_frames_before_a_conversation_exists(ws_open):
    socket, _ = await ws_open(CHAT_PATH)
    for frame in ({"type": "feedback", "message_id": 1, "value": 1}, {"type": "csat", "score": 5}):
        await socket.send(frame)
        assert (await socket.recv())["code"] == "no_conversation"
    assert await database_sync_to_async(Message.objects.count)() == 0

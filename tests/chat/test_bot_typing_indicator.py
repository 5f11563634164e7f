"""The bot's typing frame: shown for slow replies only (CHAT_BOT_TYPING_DELAY_MS), never a flash."""

from __future__ import annotations

import asyncio
import time

import pytest

from apps.chat import services
from apps.chat.consumers.customer import BotTyping
from tests.chat.conftest import CHAT_PATH
from tests.chat.test_consumer_messages import is_bot_message

pytestmark = pytest.mark.django_db(transaction=True)

BOT_TYPING = {"type": "typing", "sender": "bot", "active": True}


def slow_replies(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """The real answer, after `seconds` (a cold model or a busy server)."""
    real = services.conversation_reply

    def slow(**kwargs):  # noqa: ANN003, ANN202
        time.sleep(seconds)
        return real(**kwargs)

    monkeypatch.setattr(services, "conversation_reply", slow)


async def ask(ws_open, text: str) -> list[dict]:  # noqa: ANN001
    socket, _ = await ws_open(CHAT_PATH)
    await socket.send({"type": "message", "text": text, "client_msg_id": "t1"})
    return await socket.recv_until(is_bot_message)


async def test_a_slow_reply_shows_the_bot_typing_first(ws_open, ws_kb, settings, monkeypatch):
    settings.CHAT_BOT_TYPING_DELAY_MS = 100
    slow_replies(monkeypatch, 0.6)
    frames = await ask(ws_open, "my card hasn't arrived yet")
    assert BOT_TYPING in frames
    assert frames.index(BOT_TYPING) < len(frames) - 1
    assert frames[-1]["text"] == ws_kb["card_arrival"].answer


async def test_a_reply_faster_than_the_delay_comes_without_typing(ws_open, ws_kb, settings):
    settings.CHAT_BOT_TYPING_DELAY_MS = 30_000
    frames = await ask(ws_open, "my card hasn't arrived yet")
    assert frames[-1]["text"] == ws_kb["card_arrival"].answer
    assert not any(f["type"] == "typing" for f in frames)


async def test_zero_delay_types_before_every_reply(ws_open, ws_kb, settings):
    settings.CHAT_BOT_TYPING_DELAY_MS = 0
    frames = await ask(ws_open, "my card hasn't arrived yet")
    assert frames.index(BOT_TYPING) < len(frames) - 1


async def test_a_settled_indicator_never_sends_late():
    sent: list[dict] = []

    async def broadcast(frame: dict) -> None:
        sent.append(frame)

    fast = BotTyping(broadcast, 50)
    await fast.start()
    assert await fast.settle() is False  # the reply came first (or the answer was cancelled)
    await asyncio.sleep(0.1)
    assert sent == []

    slow = BotTyping(broadcast, 20)
    await slow.start()
    await asyncio.sleep(0.08)
    assert await slow.settle() is True
    assert sent == [BOT_TYPING]

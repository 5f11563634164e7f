"""The bot's typing frame: shown for slow replies only (CHAT_BOT_TYPING_DELAY_MS), never a flash."""

from __future__ import annotations

import asyncio
import threading

import pytest

from apps.chat import services
from apps.chat.consumers.customer import BotTyping
from tests.chat.conftest import CHAT_PATH
from tests.chat.test_consumer_messages import is_bot_message

pytestmark = pytest.mark.django_db(transaction=True)

BOT_TYPING = {"type": "typing", "sender": "bot", "active": True}


def held_replies(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The real answer, once the test sets the returned event (a cold model, a busy server)."""
    release = threading.Event()
    real = services.conversation_reply

    def held(**kwargs):  # noqa: ANN003, ANN202
        assert release.wait(timeout=60), "the test never released the reply"
        return real(**kwargs)

    monkeypatch.setattr(services, "conversation_reply", held)
    return release


async def ask(ws_open, text: str) -> list[dict]:  # noqa: ANN001
    socket, _ = await ws_open(CHAT_PATH)
    await socket.send({"type": "message", "text": text, "client_msg_id": "t1"})
    return await socket.recv_until(is_bot_message)


async def test_a_slow_reply_shows_the_bot_typing_first(ws_open, ws_kb, settings, monkeypatch):
    settings.CHAT_BOT_TYPING_DELAY_MS = 100
    release = held_replies(monkeypatch)
    socket, _ = await ws_open(CHAT_PATH)
    await socket.send(
        {"type": "message", "text": "my card hasn't arrived yet", "client_msg_id": "t1"}
    )
    try:  # the reply is held until the typing frame has arrived
        before = await socket.recv_until(lambda f: f == BOT_TYPING)
    finally:
        release.set()
    after = await socket.recv_until(is_bot_message)
    assert not any(is_bot_message(f) for f in before)
    assert after[-1]["text"] == ws_kb["card_arrival"].answer


async def test_a_reply_faster_than_the_delay_comes_without_typing(ws_open, ws_kb, settings):
    settings.CHAT_BOT_TYPING_DELAY_MS = 30_000
    frames = await ask(ws_open, "my card hasn't arrived yet")
    assert frames[-1]["text"] == ws_kb["card_arrival"].answer
    assert not any(f["type"] == "typing" for f in frames)


async def test_zero_delay_types_before_every_reply(ws_open, ws_kb, settings):
    settings.CHAT_BOT_TYPING_DELAY_MS = 0
    frames = await ask(ws_open, "my card hasn't arrived yet")
    assert frames.index(BOT_TYPING) < len(frames) - 1


class HeldSleep:
    """An asyncio.sleep stand-in that returns only when the test releases it."""

    def __init__(self) -> None:
        self.calls: list[float] = []
        self.released = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await self.released.wait()


async def settled_loop() -> None:
    """Let every ready task run until none is left (no timing involved)."""
    for _ in range(20):
        await asyncio.sleep(0)


async def test_a_reply_before_the_delay_cancels_the_frame_for_good():
    sent: list[dict] = []

    async def broadcast(frame: dict) -> None:
        sent.append(frame)

    sleep = HeldSleep()
    fast = BotTyping(broadcast, 50, sleep=sleep)
    await fast.start()
    await settled_loop()
    assert sleep.calls == [0.05]  # waiting out the delay
    assert await fast.settle() is False  # the reply came first (or the answer was cancelled)
    sleep.released.set()  # the delay passes after all
    await settled_loop()
    assert sent == []


async def test_a_frame_due_before_the_reply_is_sent_and_waited_for():
    sent: list[dict] = []
    sending = asyncio.Event()
    finish_sending = asyncio.Event()

    async def broadcast(frame: dict) -> None:
        sending.set()
        await finish_sending.wait()  # a slow channel layer
        sent.append(frame)

    sleep = HeldSleep()
    slow = BotTyping(broadcast, 20, sleep=sleep)
    await slow.start()
    await settled_loop()
    assert sent == [] and not sending.is_set()  # not due yet
    sleep.released.set()  # the delay passes before the reply
    await sending.wait()
    settling = asyncio.ensure_future(slow.settle())
    await settled_loop()
    assert not settling.done()  # a frame on its way is not cancelled half-sent
    finish_sending.set()
    assert await settling is True
    assert sent == [BOT_TYPING]

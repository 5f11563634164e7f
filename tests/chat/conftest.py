"""Fixtures for the chat websocket, console and widget tests (names start with `ws_`)."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from tests.conftest import database_url_for_subprocess

ROOT = Path(__file__).resolve().parent.parent.parent
DEMO_FAQ = ROOT / "apps" / "chat" / "demo" / "faq.json"
WS_ORIGIN = "http://testserver"
WS_HOST = "testserver"  # the Host header: with the socket's scheme, the server's own origin
CHAT_PATH = "/ws/chat/"
WS_KB_INTENTS = ("card_arrival", "lost_or_stolen_card", "change_pin", "business_hours")


class WsClient:
    """A websocket client on the real ASGI application (origin check, auth, routing)."""

    def __init__(self, communicator: WebsocketCommunicator):
        self.communicator = communicator
        self.closed = False
        self.token: str | None = None  # from `conversation_started`: this socket's conversation
        self.public_id: str | None = None

    async def send(self, frame: dict[str, Any] | str) -> None:
        text = frame if isinstance(frame, str) else json.dumps(frame)
        await self.communicator.send_to(text_data=text)

    async def recv(self, timeout_s: float = 10) -> dict[str, Any]:
        frame = json.loads(await self.communicator.receive_from(timeout=timeout_s))
        if frame.get("type") == "conversation_started":
            self.token, self.public_id = frame["token"], frame["conversation"]["id"]
        return frame

    async def closed_with(self, timeout_s: float = 10) -> int | None:
        """The close code once the server closes the socket (frames before it are skipped)."""
        while True:
            output = await self.communicator.receive_output(timeout=timeout_s)
            if output["type"] == "websocket.close":
                self.closed = True
                return output.get("code")

    async def recv_until(
        self, predicate: Callable[[dict[str, Any]], bool], timeout_s: float = 30
    ) -> list[dict[str, Any]]:
        """Frames up to and including the first that matches (fails after `timeout_s`)."""
        import time

        frames: list[dict[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no matching frame in {timeout_s}s; got {frames}")
            try:
                frame = await self.recv(timeout_s=left)
            except TimeoutError:
                raise AssertionError(f"no matching frame in {timeout_s}s; got {frames}") from None
            frames.append(frame)
            if predicate(frame):
                return frames

    async def assert_quiet(self, seconds: float = 0.5) -> None:
        assert await self.communicator.receive_nothing(timeout=seconds), await self.recv()

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.communicator.disconnect(timeout=30)


WsOpen = Callable[..., Awaitable[tuple[WsClient | None, Any]]]


def ws_random_ip() -> str:
    """A fresh client address per socket, so per-IP limits of parallel runs never collide."""
    return "10.{}.{}.{}".format(*(random.randint(1, 254) for _ in range(3)))  # noqa: S311


@pytest.fixture
async def ws_open(transactional_db: None):  # noqa: ANN201
    """Open a websocket on config.asgi.application; returns (client, first frame or close code).

    Closed at teardown. `origin=None` sends no Origin header; `cookie` a Cookie header;
    `host` the Host header. On the customer socket the first frame is the answer to a
    `hello` carrying `hello` (a token, after_id...), sent when `first_frame` is true.
    """
    from config.asgi import application

    opened: list[WsClient] = []

    async def open_socket(
        path: str,
        *,
        origin: str | None = WS_ORIGIN,
        ip: str | None = None,
        cookie: str | None = None,
        first_frame: bool = True,
        host: str | None = WS_HOST,
        hello: dict[str, Any] | None = None,
    ) -> tuple[WsClient | None, Any]:
        headers = []
        if host is not None:
            headers.append((b"host", host.encode()))
        if origin is not None:
            headers.append((b"origin", origin.encode()))
        if cookie:
            headers.append((b"cookie", cookie.encode()))
        communicator = WebsocketCommunicator(application, path, headers=headers)
        communicator.scope["client"] = [ip or ws_random_ip(), 50000]
        connected, code = await communicator.connect(timeout=30)
        if not connected:
            return None, code
        client = WsClient(communicator)
        opened.append(client)
        if first_frame and path.split("?")[0] == CHAT_PATH:
            await client.send({"type": "hello", **(hello or {})})
        return client, (await client.recv() if first_frame else None)

    yield open_socket
    for client in opened:
        await client.close()
    # channels.testing turns `close_old_connections` into a no-op while a communicator runs
    # (so a TestCase transaction survives), so the consumers' worker threads keep their
    # database connections. End those threads now and drop what they held, or PostgreSQL
    # refuses to drop the test database at the end of the run.
    await asyncio.get_running_loop().shutdown_default_executor()
    gc.collect()


@pytest.fixture
def ws_kb(transactional_db: None, artifacts_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """A few entries of the demo FAQ, indexed for real (the index task runs eagerly here)."""
    from apps.chat import services
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    faq = json.loads(DEMO_FAQ.read_text())["entries"]
    entries = {}
    for item in faq:
        if item["intent"] in WS_KB_INTENTS:
            entries[item["intent"]] = services.entry_create(
                title=item["title"],
                answer=item["answer"],
                phrasings=item["phrasings"],
                intent=item["intent"],
                tags=item.get("tags", []),
            )
    assert len(entries) >= 3, "the demo FAQ lost the entries these tests ask about"
    return entries


@pytest.fixture
def ws_staff(transactional_db: None):  # noqa: ANN201
    """A staff user and the Cookie header of a logged-in session for it."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from apps.chat.models import AgentProfile

    user = get_user_model().objects.create_user(
        "agent-ann", password="a-long-test-password-1", is_staff=True, first_name="Annabel"
    )
    AgentProfile.objects.create(user=user, display_name="Ann")
    client = Client()
    client.force_login(user)
    user.cookie = f"sessionid={client.cookies['sessionid'].value}"
    user.raw_password = "a-long-test-password-1"
    return user


def ws_conversation_seed(texts: list[str] = ()) -> tuple[Any, str, list[Any]]:
    """A conversation with customer messages `texts`: (conversation, its token, messages)."""
    from apps.chat import services

    started = services.conversation_start(customer_ref="seed")
    messages = [
        services.message_receive(
            conversation=started.conversation, text=text, client_msg_id=f"seed-{i}"
        )[0]
        for i, text in enumerate(texts)
    ]
    return started.conversation, started.token, messages


@pytest.fixture
def ws_customer_user(transactional_db: None):  # noqa: ANN201
    """A logged-in user who is not staff (may not use the agent console)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    user = get_user_model().objects.create_user("customer-bob", password="another-password-2")
    client = Client()
    client.force_login(user)
    user.cookie = f"sessionid={client.cookies['sessionid'].value}"
    return user


# --- a real Daphne process and a real Chromium (browser tests) ------------------------------

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`daphne config.asgi:application` on a free port, stoppable and restartable."""

    def __init__(self, env: dict[str, str], log_path: Path):
        self.env = env
        self.log_path = log_path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout_s: float = 90) -> None:
        log = self.log_path.open("a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port)]
            + ["config.asgi:application"],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"daphne exited early:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"daphne did not answer in {timeout_s}s:\n{self.log_path.read_text()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


@pytest.fixture
def ws_chromium() -> Path:
    if not CHROMIUM.exists():
        reason = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("REQUIRE_SERVICES") == "1":
            pytest.fail(f"{reason} and REQUIRE_SERVICES=1")
        pytest.skip(reason)
    return CHROMIUM


def ws_server_env(artifacts_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "ML_ARTIFACTS_DIR": str(artifacts_dir),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "PYTHONUNBUFFERED": "1",
        "LOG_LEVEL": "WARNING",
    }


@pytest.fixture
def ws_live_server(
    ws_chromium: Path, transactional_db: None, ws_kb: dict, artifacts_dir: Path, tmp_path: Path
) -> Iterator[LiveServer]:
    server = LiveServer(ws_server_env(artifacts_dir), tmp_path / "daphne.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def ws_browser(ws_chromium: Path, monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop in this thread; the ORM reads the tests do
    # between browser steps are plain sync code all the same.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(ws_chromium), args=CHROMIUM_ARGS)
        yield browser
        browser.close()
        # While Playwright's loop runs, Django keeps this thread's connections apart from the
        # plain thread-local ones pytest-django closes; close them here.
        from django.db import connections

        connections.close_all()

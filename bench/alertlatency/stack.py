"""The processes around a run: a scratch database, Celery worker / beat processes, and the
mailbox SMTP server that notes when each message was accepted."""

from __future__ import annotations

import email
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.common import ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scratch_database(url: str, *, drop_only: bool = False) -> str:
    """A fresh, empty database next to DATABASE_URL's; returns its URL."""
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'tessera'}_alert_latency"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def start_process(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = log_path.open("w")
    return subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "celery", "-A", "config", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(predicate: Any, *, timeout_s: float, what: str, poll_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout_s:g} s waiting for {what}")
        time.sleep(poll_s)


def mailbox_start(port: int, path: Path) -> tuple[dict[str, float], Any]:
    """s-alerts' mailbox server; its handler also notes when each message was accepted."""
    from aiosmtpd.controller import Controller

    from apps.sentiment.mailbox import MaildirHandler

    accepted: dict[str, float] = {}

    class TimedHandler(MaildirHandler):
        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
            reply = await super().handle_DATA(server, session, envelope)
            content = envelope.original_content or envelope.content
            if isinstance(content, str):
                content = content.encode()
            message_id = email.message_from_bytes(content)["Message-ID"] or ""
            accepted.setdefault(message_id.strip(), time.time())
            return reply

    controller = Controller(TimedHandler(path), hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    return accepted, controller

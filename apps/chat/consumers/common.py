"""Helpers shared by the customer and agent sockets: threads, limits, JSON frames.

Group sends from sync code (tasks, services, admin) live in apps.chat.realtime.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from channels.db import database_sync_to_async

from apps.chat.protocol import error_frame

logger = logging.getLogger(__name__)

HISTORY_MAX_PAGES = 20  # a resume sends at most this many pages of CHAT_HISTORY_LIMIT
TYPING_MIN_INTERVAL_S = 1.5  # typing frames broadcast at most this often per socket
CONTROL_FRAMES_PER_MINUTE = 120  # feedback/handoff/csat/resume/typing/ping per socket
REPLY_DRAIN_TIMEOUT_S = 30.0  # a closing socket still finishes the replies it started
CUSTOMER_REF_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


def in_thread(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a sync function that touches the database in the thread pool (not the sync thread)."""
    return database_sync_to_async(fn, thread_sensitive=False)


def client_ip(scope: dict[str, Any]) -> str:
    """The peer address; behind a proxy, run daphne with --proxy-headers so it is the client."""
    client = scope.get("client")
    if client and client[0]:
        return str(client[0])
    return "unknown"


def query_params(scope: dict[str, Any]) -> dict[str, str]:
    raw = scope.get("query_string", b"").decode("latin1")
    return {key: values[-1] for key, values in parse_qs(raw).items() if values}


class ControlFrameLimiter:
    """Per-socket cap on non-message frames (they are cheap, but not free)."""

    def __init__(self, per_minute: int = CONTROL_FRAMES_PER_MINUTE):
        self.per_minute = per_minute
        self.times: deque[float] = deque()

    def allow(self) -> bool:
        now = time.monotonic()
        while self.times and now - self.times[0] > 60:
            self.times.popleft()
        if len(self.times) >= self.per_minute:
            return False
        self.times.append(now)
        return True


class JsonFrames:
    """Send helpers shared by both consumers."""

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=json.dumps(frame, separators=(",", ":")))  # type: ignore[attr-defined]

    async def send_error(self, code: str, message: str, **extra: Any) -> None:
        await self.send_json(error_frame(code, message, **extra))


# --- sync halves: service call + serialisation, in one worker thread ------------------------

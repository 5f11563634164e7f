"""A bound on the HTTP requests one web process lets into Django at once.

Under ASGI every request runs its sync view in a thread of its own, and each of those threads
holds a PostgreSQL connection while it works. Unbounded, 64 clients meant 64+ connections per
process and PostgreSQL's "too many clients" (HTTP 500s in bench/rec_load.py). Here at most
`limit` requests are inside Django; the rest wait their turn for up to `wait_s`, and then get
a 503 JSON answer with Retry-After instead of a 500. WebSockets and lifespan pass through.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from config.exceptions import error_body

logger = logging.getLogger(__name__)


class HttpConcurrencyLimit:
    def __init__(self, app: Any, *, limit: int, wait_s: float, retry_after_s: int = 1) -> None:
        self.app = app
        self.limit = limit
        self.wait_s = wait_s
        self.retry_after_s = retry_after_s
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def slots(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:  # one per event loop (tests run many)
            self._slots, self._loop = asyncio.Semaphore(self.limit), loop
        return self._slots

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or self.limit <= 0:
            await self.app(scope, receive, send)
            return
        slots = self.slots()
        try:
            await asyncio.wait_for(slots.acquire(), timeout=self.wait_s)
        except TimeoutError:
            logger.warning(
                "busy: %s %s waited %.1f s for a slot",
                scope.get("method"),
                scope.get("path"),
                self.wait_s,
            )
            await self.busy(send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            slots.release()

    async def busy(self, send: Any) -> None:
        body = json.dumps(
            error_body(
                "server_busy",
                f"The server is busy; retry in {self.retry_after_s} s.",
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(self.retry_after_s).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

"""The bot's typing indicator on the customer socket (split from customer.py for size)."""

from __future__ import annotations

import asyncio
from typing import Any


class BotTyping:
    """The bot's typing indicator, shown only once a reply takes longer than `delay_ms`.

    Most answers take a few tens of milliseconds: a typing frame for those would flash for one
    frame and cost a broadcast per message. A slow reply (a cold model, a busy server) still
    shows it. Once the frame is on its way it is never cancelled half-sent.
    """

    def __init__(self, broadcast: Any, delay_ms: int, *, sleep: Any = asyncio.sleep):
        self.broadcast = broadcast
        self.delay_s = max(0, delay_ms) / 1000
        self.sleep = sleep  # tests pass one they release by hand
        self.committed = False
        self.task: asyncio.Task | None = None

    async def _show(self) -> None:
        if self.delay_s:
            await self.sleep(self.delay_s)
        self.committed = True
        await self.broadcast({"type": "typing", "sender": "bot", "active": True})

    async def start(self) -> None:
        if self.delay_s == 0:
            await self._show()  # immediately, ahead of the reply
        else:
            self.task = asyncio.create_task(self._show())

    async def settle(self) -> bool:
        """Cancel a frame not yet due; wait for one being sent. True if it was shown."""
        if self.task is not None:
            if self.committed:
                await self.task
            else:
                self.task.cancel()
        return self.committed

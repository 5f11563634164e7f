"""The staff socket: /ws/agent/, the live agent console (see docs/chat-protocol.md).

A console socket lives as long as the staff session that opened it: logging out (in any tab,
any process) closes it through a channel-layer group per session, and every frame re-checks
the session first, so a session that ended without the signal (expired, deleted, password
changed) cannot act either. The socket is then closed with NOT_SIGNED_IN_CODE, which the
console shows as "not signed in as staff" instead of reconnecting.
"""

from __future__ import annotations

import logging
import time
from importlib import import_module
from types import SimpleNamespace
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user
from django.core.exceptions import ObjectDoesNotExist

from apps.chat import protocol, realtime, selectors, services
from apps.chat.consumers.common import (
    TYPING_MIN_INTERVAL_S,
    ControlFrameLimiter,
    JsonFrames,
    in_thread,
)
from apps.chat.protocol import FrameError
from apps.core.metrics import WEBSOCKET_CONNECTIONS
from ml.errors import ServiceError

logger = logging.getLogger(__name__)

NOT_SIGNED_IN_CODE = 4401  # no staff session (any more): the console stops reconnecting
NOT_STAFF_CODE = 4403  # signed in, but not staff


def _still_signed_in(session_key: str, agent_id: int) -> bool:
    """The session still belongs to this agent, who is still active staff (one query or two)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    user = get_user(SimpleNamespace(session=store))  # reads only request.session
    return bool(user.is_authenticated and user.pk == agent_id and user.is_active and user.is_staff)


def _queue(agent: Any) -> dict[str, Any]:
    waiting = selectors.conversations_waiting()
    mine = selectors.conversations_for_agent(agent=agent)
    return {
        "type": "queue",
        "waiting": [protocol.conversation_summary(c) for c in waiting],
        "mine": [protocol.conversation_summary(c) for c in mine],
    }


def _detail(conversation_id: int) -> dict[str, Any]:
    try:
        conversation, messages = selectors.conversation_detail(conversation_id=conversation_id)
    except ObjectDoesNotExist as exc:
        raise ServiceError("No such conversation.", code="unknown_conversation") from exc
    return {
        "type": "conversation",
        "conversation": protocol.conversation_summary(conversation),
        "messages": [protocol.message_frame_for_staff(m) for m in messages],
    }


def _take(conversation_id: int, agent: Any) -> tuple[dict, dict]:
    conversation, message = services.agent_take(conversation_id=conversation_id, agent=agent)
    joined = {
        "type": "agent_joined",
        "status": "agent",
        "agent_name": protocol.agent_display_name(agent),
    }
    return protocol.message_event(message), joined


def _agent_reply(conversation_id: int, agent: Any, text: str) -> dict[str, Any]:
    message = services.agent_reply(conversation_id=conversation_id, agent=agent, text=text)
    return protocol.message_event(message)


def _release(conversation_id: int, agent: Any) -> tuple[dict, dict]:
    conversation, message = services.agent_release(conversation_id=conversation_id, agent=agent)
    return protocol.message_event(message), {"type": "agent_left", "status": "bot"}


def _close(conversation_id: int, agent: Any, resolution: str) -> tuple[dict, dict]:
    conversation, message = services.conversation_close(
        conversation_id=conversation_id, agent=agent, resolution=resolution
    )
    closed = {
        "type": "closed",
        "status": "closed",
        "resolution": conversation.resolution,
        "csat_requested": conversation.csat is None,
    }
    return protocol.message_event(message), closed


class AgentConsumer(JsonFrames, AsyncWebsocketConsumer):
    """The staff console: the live waiting list, and take/reply/release/close."""

    metrics_label = "agent"

    async def connect(self) -> None:
        self.counted = False
        self.watching: set[int] = set()
        self.control_limiter = ControlFrameLimiter(per_minute=600)
        self.last_typing_at: dict[int, float] = {}
        self.session_group = ""
        self.agent = None  # set once the socket belongs to a signed-in agent
        if self.scope.get("origin_kind") != "own":
            # Sites that embed the widget may open customer sockets, never this one.
            await self.close(code=NOT_STAFF_CODE)
            return
        user = self.scope.get("user")
        session_key = getattr(self.scope.get("session"), "session_key", None)
        if user is None or not user.is_authenticated or not session_key:
            await self.refuse(NOT_SIGNED_IN_CODE)
            return
        if not user.is_staff:
            await self.refuse(NOT_STAFF_CODE)
            return
        self.agent = user
        self.session_key = session_key
        self.session_group = realtime.agent_session_group(session_key)
        await self.channel_layer.group_add(self.session_group, self.channel_name)
        await self.channel_layer.group_add(protocol.AGENTS_GROUP, self.channel_name)
        await self.accept()
        WEBSOCKET_CONNECTIONS.labels(consumer=self.metrics_label).inc()
        self.counted = True
        queue = await in_thread(_queue)(self.agent)
        for summary in queue["mine"]:
            await self.watch(summary["id"])
        await self.send_json(queue)

    async def refuse(self, code: int) -> None:
        """Accept only to say why, so the console sees the code (a refused handshake is 1006)."""
        await self.accept()
        await self.send_error("not_authenticated", "Sign in as staff to use the agent console.")
        await self.close(code=code)

    async def leave_groups(self) -> None:
        if self.session_group:
            await self.channel_layer.group_discard(self.session_group, self.channel_name)
            self.session_group = ""
        await self.channel_layer.group_discard(protocol.AGENTS_GROUP, self.channel_name)
        for conversation_id in list(self.watching):
            await self.channel_layer.group_discard(
                protocol.conversation_group(conversation_id), self.channel_name
            )
        self.watching.clear()

    async def disconnect(self, code: int) -> None:
        await self.leave_groups()
        if self.counted:
            WEBSOCKET_CONNECTIONS.labels(consumer=self.metrics_label).dec()
            self.counted = False

    async def watch(self, conversation_id: int) -> None:
        if conversation_id not in self.watching:
            self.watching.add(conversation_id)
            await self.channel_layer.group_add(
                protocol.conversation_group(conversation_id), self.channel_name
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        if self.agent is None:
            return  # refused or signed out: the close is on its way
        try:
            frame = protocol.parse_client_frame(text_data, protocol.AGENT_FRAMES)
        except FrameError as exc:
            await self.send_json(exc.as_frame())
            return
        if not self.control_limiter.allow():
            await self.send_error("rate_limited", "Too many frames; slow down.", retry_after_s=60)
            return
        if not await in_thread(_still_signed_in)(self.session_key, self.agent.pk):
            await self.session_ended()
            return
        try:
            await getattr(self, f"on_{frame['type']}")(frame)
        except ServiceError as exc:
            await self.send_error(
                exc.code, exc.message, conversation_id=frame.get("conversation_id")
            )

    async def _to_conversation(self, conversation_id: int, *events: dict[str, Any]) -> None:
        group = protocol.conversation_group(conversation_id)
        for event in events:
            if event.get("type") not in ("chat.message", "chat.frame"):
                event = protocol.frame_event(event, conversation_id=conversation_id)
            await self.channel_layer.group_send(group, event)

    async def _refresh_agents(self) -> None:
        await self.channel_layer.group_send(protocol.AGENTS_GROUP, protocol.agents_refresh_event())

    async def on_open(self, frame: dict[str, Any]) -> None:
        detail = await in_thread(_detail)(frame["conversation_id"])
        await self.watch(frame["conversation_id"])
        await self.send_json(detail)

    async def on_take(self, frame: dict[str, Any]) -> None:
        conversation_id = frame["conversation_id"]
        message_event, joined = await in_thread(_take)(conversation_id, self.agent)
        await self.watch(conversation_id)
        await self._to_conversation(conversation_id, message_event, joined)
        await self._refresh_agents()
        await self.send_json(await in_thread(_detail)(conversation_id))

    async def on_reply(self, frame: dict[str, Any]) -> None:
        conversation_id = frame["conversation_id"]
        event = await in_thread(_agent_reply)(conversation_id, self.agent, frame["text"])
        if frame.get("client_msg_id"):
            await self.send_json(
                {
                    "type": "ack",
                    "conversation_id": conversation_id,
                    "client_msg_id": frame["client_msg_id"],
                    "message_id": event["frame"]["id"],
                }
            )
        await self.watch(conversation_id)
        await self._to_conversation(conversation_id, event)

    async def on_typing(self, frame: dict[str, Any]) -> None:
        conversation_id = frame["conversation_id"]
        now = time.monotonic()
        if now - self.last_typing_at.get(conversation_id, 0.0) < TYPING_MIN_INTERVAL_S:
            return
        self.last_typing_at[conversation_id] = now
        if conversation_id in self.watching:
            await self.channel_layer.group_send(
                protocol.conversation_group(conversation_id),
                protocol.frame_event(
                    {"type": "typing", "sender": "agent", "active": True},
                    conversation_id=conversation_id,
                    origin=self.channel_name,
                ),
            )

    async def on_release(self, frame: dict[str, Any]) -> None:
        conversation_id = frame["conversation_id"]
        message_event, left = await in_thread(_release)(conversation_id, self.agent)
        await self._to_conversation(conversation_id, message_event, left)
        await self._refresh_agents()

    async def on_close(self, frame: dict[str, Any]) -> None:
        conversation_id = frame["conversation_id"]
        message_event, closed = await in_thread(_close)(
            conversation_id, self.agent, frame["resolution"]
        )
        await self._to_conversation(conversation_id, message_event, closed)
        await self._refresh_agents()

    async def on_refresh(self, frame: dict[str, Any]) -> None:
        await self.send_json(await in_thread(_queue)(self.agent))

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})

    async def session_ended(self) -> None:
        if self.agent is None:
            return  # already ended (the logout signal and a frame's check both noticed)
        logger.info("agent console closed: session ended agent=%s", self.agent.pk)
        self.agent = None
        await self.leave_groups()  # nothing more reaches this socket, not even queued events
        await self.send_error(
            "not_authenticated", "You were signed out; sign in again to use the console."
        )
        await self.close(code=NOT_SIGNED_IN_CODE)

    # --- group events -----------------------------------------------------------------------

    async def agent_session_ended(self, event: dict[str, Any]) -> None:
        await self.session_ended()

    async def agents_refresh(self, event: dict[str, Any]) -> None:
        if self.agent is None:
            return
        await self.send_json(await in_thread(_queue)(self.agent))

    async def chat_message(self, event: dict[str, Any]) -> None:
        if self.agent is None:
            return
        frame = dict(event["staff_frame"])
        frame["conversation_id"] = event["conversation_id"]
        await self.send_json(frame)

    async def chat_frame(self, event: dict[str, Any]) -> None:
        if self.agent is None or event.get("origin") == self.channel_name:
            return
        frame = dict(event["frame"])
        frame["conversation_id"] = event["conversation_id"]
        await self.send_json(frame)

"""Websocket edges of the support chat: customers (/ws/chat/<id>/) and agents (/ws/agent/).

Both consumers parse and validate frames (apps.chat.protocol), call services in worker
threads and broadcast what changed through a channel-layer group per conversation, so every
tab of a customer and every console watching the conversation sees the same stream. The
protocol is documented in docs/chat-protocol.md.

Service calls run with `thread_sensitive=False`: a bot reply waits on the model batcher and
must not hold up other conversations' database work on Django's single sync thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer
from django.core.exceptions import ObjectDoesNotExist

from apps.chat import protocol, ratelimit, selectors, services
from apps.chat.protocol import FrameError, chat_setting, error_frame
from apps.core.metrics import WEBSOCKET_CONNECTIONS
from ml.errors import ServiceError

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


def conversation_notify(*, conversation_id: int, events: list[dict[str, Any]]) -> None:
    """Push events to every socket of a conversation from sync code (tasks, admin actions).

    Build events with `protocol.message_event(message)` and
    `protocol.frame_event(frame, conversation_id=...)`; for example, after closing an idle
    conversation: the system message, then `{"type": "closed", ...}`.
    """
    layer = get_channel_layer()
    for event in events:
        async_to_sync(layer.group_send)(protocol.conversation_group(conversation_id), event)


def agents_notify() -> None:
    """Make every open agent console reload its waiting list (from sync code)."""
    async_to_sync(get_channel_layer().group_send)(
        protocol.AGENTS_GROUP, protocol.agents_refresh_event()
    )


# --- sync halves: service call + serialisation, in one worker thread ------------------------


def _conversation_open(public_id: uuid.UUID, customer_ref: str, ip: str) -> Any:
    return services.conversation_get_or_create(
        public_id=public_id, customer_ref=customer_ref, client_ip=ip
    )


def _history(conversation: Any, after_id: int | None) -> dict[str, Any]:
    """The `history` frame: the last N messages, or every message after `after_id` (paged)."""
    limit = chat_setting("CHAT_HISTORY_LIMIT")
    conversation.refresh_from_db()
    messages = selectors.messages_after(conversation=conversation, after_id=after_id, limit=limit)
    has_more = False
    if after_id is not None:
        pages = 1
        page = messages
        while len(page) == limit:
            if pages >= HISTORY_MAX_PAGES:
                has_more = True
                break
            page = selectors.messages_after(
                conversation=conversation, after_id=page[-1].id, limit=limit
            )
            messages.extend(page)
            pages += 1
    elif len(messages) == limit:
        # The last N: are there older ones the widget is not shown?
        one_more = selectors.messages_after(
            conversation=conversation, after_id=None, limit=limit + 1
        )
        has_more = len(one_more) > limit
    return {
        "type": "history",
        "protocol": protocol.PROTOCOL_VERSION,
        "conversation": protocol.conversation_state(conversation),
        "after_id": after_id,
        "messages": [protocol.message_frame(message) for message in messages],
        "has_more": has_more,
        "limits": {
            "max_message_chars": chat_setting("CHAT_MAX_MESSAGE_CHARS"),
            "messages_per_minute": chat_setting("CHAT_RATE_PER_MINUTE_CONVERSATION"),
        },
    }


def _receive(conversation: Any, text: str, client_msg_id: str) -> tuple[Any, bool, dict]:
    message, created = services.message_receive(
        conversation=conversation, text=text, client_msg_id=client_msg_id
    )
    return message, created, protocol.message_event(message)


def _reply(conversation: Any, message: Any) -> tuple[dict | None, str]:
    reply = services.conversation_reply(conversation=conversation, message=message)
    event = protocol.message_event(reply) if reply is not None else None
    return event, conversation.status


def _feedback(conversation: Any, message_id: int, value: int) -> dict[str, Any]:
    message = services.feedback_record(
        conversation=conversation, message_id=message_id, value=value
    )
    return {"type": "feedback", "message_id": message.id, "value": message.feedback}


def _handoff(conversation: Any, reason: str) -> dict[str, Any]:
    conversation, message = services.handoff_request(conversation=conversation, reason=reason)
    return protocol.message_event(message)


def _csat(conversation: Any, score: int) -> dict[str, Any]:
    conversation = services.csat_record(conversation=conversation, score=score)
    return {"type": "csat", "score": conversation.csat}


class ChatConsumer(JsonFrames, AsyncWebsocketConsumer):
    """One customer socket on one conversation (the widget; several tabs may share one)."""

    metrics_label = "chat"

    async def connect(self) -> None:
        self.counted = False
        self.conversation = None
        self.group = ""
        self.history_ids: set[int] = set()
        self.reply_lock = asyncio.Lock()
        self.reply_tasks: set[asyncio.Task] = set()
        self.control_limiter = ControlFrameLimiter()
        self.last_typing_at = 0.0
        self.ip = client_ip(self.scope)

        params = query_params(self.scope)
        public_id = self.scope["url_route"]["kwargs"]["conversation"]
        customer_ref = params.get("customer", "")
        if not CUSTOMER_REF_RE.match(customer_ref):
            customer_ref = ""
        after_id = self._parse_after(params.get("after"))

        self.conversation = await in_thread(_conversation_open)(public_id, customer_ref, self.ip)
        self.group = protocol.conversation_group(self.conversation.id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        WEBSOCKET_CONNECTIONS.labels(consumer=self.metrics_label).inc()
        self.counted = True
        # Joined the group before reading history: a message saved meanwhile arrives as
        # both; `history_ids` drops the second copy.
        await self.send_history(after_id)

    @staticmethod
    def _parse_after(raw: str | None) -> int | None:
        if raw is None or raw == "":
            return None
        try:
            value = int(raw)
        except ValueError:
            return None
        return value if value >= 0 else None

    async def send_history(self, after_id: int | None) -> None:
        frame = await in_thread(_history)(self.conversation, after_id)
        self.history_ids = {m["id"] for m in frame["messages"]}
        await self.send_json(frame)

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        if self.counted:
            WEBSOCKET_CONNECTIONS.labels(consumer=self.metrics_label).dec()
            self.counted = False
        if self.reply_tasks:
            # The customer's message is saved; its answer should be too, so a reconnect
            # (or another tab) finds it.
            await asyncio.wait(list(self.reply_tasks), timeout=REPLY_DRAIN_TIMEOUT_S)

    # --- client frames ----------------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            frame = protocol.parse_client_frame(text_data, protocol.CHAT_FRAMES)
        except FrameError as exc:
            await self.send_json(exc.as_frame())
            return
        handler = getattr(self, f"on_{frame['type']}")
        if frame["type"] != "message" and not self.control_limiter.allow():
            await self.send_error("rate_limited", "Too many frames; slow down.", retry_after_s=60)
            return
        try:
            await handler(frame)
        except ServiceError as exc:
            extra = {"client_msg_id": frame["client_msg_id"]} if "client_msg_id" in frame else {}
            await self.send_error(exc.code, exc.message, **extra)

    def rate_rules(self) -> list[ratelimit.Rule]:
        return [
            ratelimit.Rule(
                # The public UUID, not the row id: ids restart in a fresh database while
                # cache counters may outlive it.
                key=f"conversation:{self.conversation.public_id}",
                limit=chat_setting("CHAT_RATE_PER_MINUTE_CONVERSATION"),
            ),
            ratelimit.Rule(key=f"ip:{self.ip}", limit=chat_setting("CHAT_RATE_PER_MINUTE_IP")),
        ]

    async def on_message(self, frame: dict[str, Any]) -> None:
        client_msg_id = frame["client_msg_id"]
        decision = await in_thread(ratelimit.hit)(self.rate_rules())
        if not decision.allowed:
            scope = "conversation" if decision.rule.key.startswith("conversation:") else "address"
            await self.send_error(
                "rate_limited",
                f"Too many messages from this {scope}; wait {decision.retry_after_s} s.",
                client_msg_id=client_msg_id,
                retry_after_s=decision.retry_after_s,
            )
            return
        message, created, event = await in_thread(_receive)(
            self.conversation, frame["text"], client_msg_id
        )
        await self.send_json(
            {
                "type": "ack",
                "client_msg_id": client_msg_id,
                "message_id": message.id,
                "duplicate": not created,
            }
        )
        if not created:
            return  # a resend after reconnect: saved (and answered) the first time
        await self.channel_layer.group_send(self.group, event)
        task = asyncio.create_task(self._answer(message))
        self.reply_tasks.add(task)
        task.add_done_callback(self.reply_tasks.discard)

    async def _answer(self, message: Any) -> None:
        """Ask the bot for a reply and broadcast it; one at a time per socket, in order."""
        async with self.reply_lock:
            typing = False
            if self.conversation.status == "bot":
                typing = True
                await self._broadcast_frame({"type": "typing", "sender": "bot", "active": True})
            try:
                event, status = await in_thread(_reply)(self.conversation, message)
            except ServiceError as exc:
                event, status = None, self.conversation.status
                await self._safe_send(error_frame(exc.code, exc.message))
            except Exception:  # the edge: a failed answer must not kill the socket silently
                logger.exception(
                    "bot reply failed conversation=%s message=%s", self.conversation.id, message.id
                )
                event, status = None, self.conversation.status
                await self._safe_send(
                    error_frame("reply_failed", "The assistant could not answer; try again.")
                )
            if event is not None:
                await self.channel_layer.group_send(self.group, event)
            elif typing:
                await self._broadcast_frame({"type": "typing", "sender": "bot", "active": False})
            if status == "waiting":
                await self.channel_layer.group_send(
                    protocol.AGENTS_GROUP, protocol.agents_refresh_event()
                )

    async def _safe_send(self, frame: dict[str, Any]) -> None:
        try:
            await self.send_json(frame)
        except Exception:  # noqa: BLE001  the socket may be gone; the broadcast matters more
            logger.debug("send after close dropped conversation=%s", self.conversation.id)

    async def _broadcast_frame(self, frame: dict[str, Any], *, skip_self: bool = False) -> None:
        await self.channel_layer.group_send(
            self.group,
            protocol.frame_event(
                frame,
                conversation_id=self.conversation.id,
                origin=self.channel_name if skip_self else "",
            ),
        )

    async def on_typing(self, frame: dict[str, Any]) -> None:
        now = time.monotonic()
        if now - self.last_typing_at < TYPING_MIN_INTERVAL_S:
            return
        self.last_typing_at = now
        await self._broadcast_frame({"type": "typing", "sender": "customer"}, skip_self=True)

    async def on_feedback(self, frame: dict[str, Any]) -> None:
        reply = await in_thread(_feedback)(self.conversation, frame["message_id"], frame["value"])
        await self._broadcast_frame(reply)

    async def on_handoff(self, frame: dict[str, Any]) -> None:
        event = await in_thread(_handoff)(
            self.conversation, frame.get("reason") or "customer asked"
        )
        self.conversation.status = "waiting"
        await self.channel_layer.group_send(self.group, event)
        await self._broadcast_frame({"type": "handoff", "status": "waiting"})
        await self.channel_layer.group_send(protocol.AGENTS_GROUP, protocol.agents_refresh_event())

    async def on_csat(self, frame: dict[str, Any]) -> None:
        reply = await in_thread(_csat)(self.conversation, frame["score"])
        await self._broadcast_frame(reply)
        await self.channel_layer.group_send(protocol.AGENTS_GROUP, protocol.agents_refresh_event())

    async def on_resume(self, frame: dict[str, Any]) -> None:
        await self.send_history(frame["after_id"])

    async def on_ping(self, frame: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})

    # --- group events -----------------------------------------------------------------------

    async def chat_message(self, event: dict[str, Any]) -> None:
        frame = event["frame"]  # never event["staff_frame"]: evidence is for staff only
        if frame["id"] in self.history_ids:
            return
        await self.send_json(frame)

    async def chat_frame(self, event: dict[str, Any]) -> None:
        if event.get("origin") and event["origin"] == self.channel_name:
            return
        frame = event["frame"]
        status = {
            "agent_joined": "agent",
            "agent_left": "bot",
            "closed": "closed",
            "handoff": "waiting",
        }.get(frame["type"])
        if status and self.conversation is not None:
            self.conversation.status = status
        await self.send_json(frame)


# --- the agent console ----------------------------------------------------------------------


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
        user = self.scope.get("user")
        if user is None or not user.is_authenticated or not user.is_staff:
            await self.close(code=4403)
            return
        self.agent = user
        await self.channel_layer.group_add(protocol.AGENTS_GROUP, self.channel_name)
        await self.accept()
        WEBSOCKET_CONNECTIONS.labels(consumer=self.metrics_label).inc()
        self.counted = True
        queue = await in_thread(_queue)(self.agent)
        for summary in queue["mine"]:
            await self.watch(summary["id"])
        await self.send_json(queue)

    async def disconnect(self, code: int) -> None:
        if not self.counted:
            return
        await self.channel_layer.group_discard(protocol.AGENTS_GROUP, self.channel_name)
        for conversation_id in list(self.watching):
            await self.channel_layer.group_discard(
                protocol.conversation_group(conversation_id), self.channel_name
            )
        WEBSOCKET_CONNECTIONS.labels(consumer=self.metrics_label).dec()
        self.counted = False

    async def watch(self, conversation_id: int) -> None:
        if conversation_id not in self.watching:
            self.watching.add(conversation_id)
            await self.channel_layer.group_add(
                protocol.conversation_group(conversation_id), self.channel_name
            )

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            frame = protocol.parse_client_frame(text_data, protocol.AGENT_FRAMES)
        except FrameError as exc:
            await self.send_json(exc.as_frame())
            return
        if not self.control_limiter.allow():
            await self.send_error("rate_limited", "Too many frames; slow down.", retry_after_s=60)
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

    # --- group events -----------------------------------------------------------------------

    async def agents_refresh(self, event: dict[str, Any]) -> None:
        await self.send_json(await in_thread(_queue)(self.agent))

    async def chat_message(self, event: dict[str, Any]) -> None:
        frame = dict(event["staff_frame"])
        frame["conversation_id"] = event["conversation_id"]
        await self.send_json(frame)

    async def chat_frame(self, event: dict[str, Any]) -> None:
        if event.get("origin") and event["origin"] == self.channel_name:
            return
        frame = dict(event["frame"])
        frame["conversation_id"] = event["conversation_id"]
        await self.send_json(frame)

"""The customer socket: /ws/chat/ (see docs/chat-protocol.md).

The socket carries no conversation id: the widget sends its conversation token in a `hello`
frame, and a socket without one gets a conversation only with its first message (or a
request for a person), so page views that never chat create nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer

from apps.chat import protocol, ratelimit, services
from apps.chat.consumers.bot_typing import BotTyping
from apps.chat.consumers.common import (
    CUSTOMER_REF_RE,
    REPLY_DRAIN_TIMEOUT_S,
    TYPING_MIN_INTERVAL_S,
    ControlFrameLimiter,
    JsonFrames,
    client_ip,
    in_thread,
)
from apps.chat.consumers.customer_threads import (
    connect_allowed,
    conversation_start_limited,
    csat_frame,
    feedback_frame,
    handoff_event,
    history_empty,
    history_frame,
    message_receive_limited,
    reply_event,
)
from apps.chat.exceptions import ChatError
from apps.chat.protocol import FrameError, chat_setting, error_frame
from apps.core.metrics import WEBSOCKET_CONNECTIONS
from ml.errors import ServiceError

logger = logging.getLogger(__name__)

CONNECT_REFUSED_CODE = 4429  # too many connects from this address


class ChatConsumer(JsonFrames, AsyncWebsocketConsumer):
    """One customer socket; it follows one conversation at a time (tabs may share one)."""

    metrics_label = "chat"

    async def connect(self) -> None:
        self.counted = False
        self.conversation = None
        self.group = ""
        self.customer_ref = ""
        self.history_ids: set[int] = set()
        self.reply_lock = asyncio.Lock()
        self.reply_tasks: set[asyncio.Task] = set()
        self.control_limiter = ControlFrameLimiter()
        self.last_typing_at = 0.0
        self.ip = client_ip(self.scope)
        if not await in_thread(connect_allowed)(self.ip):
            logger.info("customer connect refused: too many from one address")
            await self.close(code=CONNECT_REFUSED_CODE)
            return
        await self.accept()
        WEBSOCKET_CONNECTIONS.labels(consumer=self.metrics_label).inc()
        self.counted = True

    async def attach(self, conversation: Any) -> None:
        """Follow `conversation` on this socket (its group), leaving any other one."""
        await self.detach()
        self.conversation = conversation
        self.group = protocol.conversation_group(conversation.id)
        await self.channel_layer.group_add(self.group, self.channel_name)

    async def detach(self) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        self.conversation = None
        self.group = ""
        self.history_ids = set()

    async def send_history(self, after_id: int | None) -> None:
        # Joined the group before reading history: a message saved meanwhile arrives as
        # both; `history_ids` drops the second copy.
        frame = await in_thread(history_frame)(self.conversation, after_id)
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

    def address_rule(self) -> ratelimit.Rule:
        return ratelimit.Rule(key=f"ip:{self.ip}", limit=chat_setting("CHAT_RATE_PER_MINUTE_IP"))

    def rate_rules(self) -> list[ratelimit.Rule]:
        return [
            ratelimit.Rule(
                # The public UUID, not the row id: ids restart in a fresh database while
                # cache counters may outlive it.
                key=f"conversation:{self.conversation.public_id}",
                limit=chat_setting("CHAT_RATE_PER_MINUTE_CONVERSATION"),
            ),
            self.address_rule(),
        ]

    async def send_rate_limited(self, decision: ratelimit.Decision, **extra: Any) -> None:
        scope = "conversation" if decision.rule.key.startswith("conversation:") else "address"
        await self.send_error(
            "rate_limited",
            f"Too many messages from this {scope}; wait {decision.retry_after_s} s.",
            retry_after_s=decision.retry_after_s,
            **extra,
        )

    async def follow_started(self, started: services.ConversationStart) -> None:
        """Follow a conversation this socket just started, and give the widget its token."""
        await self.attach(started.conversation)
        await self.send_json(
            {
                "type": "conversation_started",
                "conversation": protocol.conversation_state(started.conversation),
                "token": started.token,
            }
        )

    async def on_hello(self, frame: dict[str, Any]) -> None:
        """Attach the conversation of `token` (history follows), or none: a fresh start."""
        if self.reply_tasks:  # answers in flight belong to the conversation being left
            await asyncio.wait(list(self.reply_tasks), timeout=REPLY_DRAIN_TIMEOUT_S)
        await self.detach()
        customer_ref = frame.get("customer", "")
        self.customer_ref = customer_ref if CUSTOMER_REF_RE.match(customer_ref) else ""
        if not frame.get("token"):
            await self.send_json(history_empty())
            return
        conversation = await in_thread(services.conversation_token_resolve)(token=frame["token"])
        await self.attach(conversation)
        await self.send_history(frame.get("after_id"))

    def require_conversation(self) -> None:
        if self.conversation is None:
            raise ChatError(
                "This socket has no conversation yet; send a message first.",
                code="no_conversation",
            )

    async def on_message(self, frame: dict[str, Any]) -> None:
        client_msg_id = frame["client_msg_id"]
        new = self.conversation is None
        received = await in_thread(message_receive_limited)(
            [self.address_rule()] if new else self.rate_rules(),
            self.conversation,
            frame["text"],
            client_msg_id,
            customer_ref=self.customer_ref,
            ip=self.ip,
        )
        if not received.decision.allowed:
            await self.send_rate_limited(received.decision, client_msg_id=client_msg_id)
            return
        if received.started is not None:
            await self.follow_started(received.started)
        message, created, event = received.message, received.created, received.event
        await self.send_json(
            {
                "type": "ack",
                "client_msg_id": client_msg_id,
                "message_id": message.id,
                "duplicate": not created,
            }
        )
        if not created:
            if received.started is not None:
                # The page was reloaded before it heard of the conversation its first message
                # started: the answer went to the old socket, so send the whole history.
                await self.send_history(None)
            return  # a resend after reconnect: saved (and answered) the first time
        await self.channel_layer.group_send(self.group, event)
        task = asyncio.create_task(self._answer(message))
        self.reply_tasks.add(task)
        task.add_done_callback(self.reply_tasks.discard)

    async def _answer(self, message: Any) -> None:
        """Ask the bot for a reply and broadcast it; one at a time per socket, in order."""
        async with self.reply_lock:
            typing = None
            if self.conversation.status == "bot":
                typing = BotTyping(self._broadcast_frame, chat_setting("CHAT_BOT_TYPING_DELAY_MS"))
                await typing.start()
            try:
                event, status = await self._bot_reply(message)
            finally:  # also when cancelled: no typing frame may go out after the reply
                shown = await typing.settle() if typing is not None else False
            if event is not None:
                await self.channel_layer.group_send(self.group, event)
            if shown and (event is None or event["frame"]["sender"] != "bot"):
                # Only a bot message ends the bot's typing by itself (protocol).
                await self._broadcast_frame({"type": "typing", "sender": "bot", "active": False})
            if status == "waiting" and typing is not None:  # the bot queued the customer
                await self._broadcast_frame({"type": "handoff", "status": "waiting"})
            if status == "waiting":
                await self.channel_layer.group_send(
                    protocol.AGENTS_GROUP, protocol.agents_refresh_event()
                )

    async def _bot_reply(self, message: Any) -> tuple[dict | None, str]:
        """(reply event or None, conversation status); a failure becomes an error frame."""
        try:
            return await in_thread(reply_event)(self.conversation, message)
        except ServiceError as exc:
            await self._safe_send(error_frame(exc.code, exc.message))
        except Exception:  # the edge: a failed answer must not kill the socket silently
            logger.exception(
                "bot reply failed conversation=%s message=%s", self.conversation.id, message.id
            )
            await self._safe_send(
                error_frame("reply_failed", "The assistant could not answer; try again.")
            )
        return None, self.conversation.status

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
        if self.conversation is None:
            return  # nobody to tell yet
        now = time.monotonic()
        if now - self.last_typing_at < TYPING_MIN_INTERVAL_S:
            return
        self.last_typing_at = now
        await self._broadcast_frame({"type": "typing", "sender": "customer"}, skip_self=True)

    async def on_feedback(self, frame: dict[str, Any]) -> None:
        self.require_conversation()
        reply = await in_thread(feedback_frame)(
            self.conversation, frame["message_id"], frame["value"]
        )
        await self._broadcast_frame(reply)

    async def on_handoff(self, frame: dict[str, Any]) -> None:
        if self.conversation is None:  # asking for a person before any question
            decision, started = await in_thread(conversation_start_limited)(
                [self.address_rule()], self.customer_ref, self.ip
            )
            if started is None:
                await self.send_rate_limited(decision)
                return
            await self.follow_started(started)
        event = await in_thread(handoff_event)(
            self.conversation, frame.get("reason") or "customer asked"
        )
        self.conversation.status = "waiting"
        await self.channel_layer.group_send(self.group, event)
        await self._broadcast_frame({"type": "handoff", "status": "waiting"})
        await self.channel_layer.group_send(protocol.AGENTS_GROUP, protocol.agents_refresh_event())

    async def on_csat(self, frame: dict[str, Any]) -> None:
        self.require_conversation()
        reply = await in_thread(csat_frame)(self.conversation, frame["score"])
        await self._broadcast_frame(reply)
        await self.channel_layer.group_send(protocol.AGENTS_GROUP, protocol.agents_refresh_event())

    async def on_resume(self, frame: dict[str, Any]) -> None:
        self.require_conversation()
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

"""The customer socket's blocking work, run in worker threads (apps.chat.consumers.customer).

Each function is one trip to the thread pool: rate limits, service calls, and the frame the
socket sends back, so the consumer itself stays async and database-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from apps.chat import protocol, ratelimit, selectors, services
from apps.chat.consumers.common import HISTORY_MAX_PAGES
from apps.chat.protocol import chat_setting


def connect_allowed(ip: str) -> bool:
    rule = ratelimit.Rule(key=f"connect:{ip}", limit=chat_setting("CHAT_CONNECTS_PER_MINUTE_IP"))
    return ratelimit.hit([rule]).allowed


def conversation_start_limited(
    rules: list[ratelimit.Rule], customer_ref: str, ip: str
) -> tuple[ratelimit.Decision, services.ConversationStart | None]:
    """A new conversation, counted against the address's message budget."""
    decision = ratelimit.hit(rules)
    if not decision.allowed:
        return decision, None
    return decision, services.conversation_start(customer_ref=customer_ref, client_ip=ip)


def history_empty() -> dict[str, Any]:
    """The `history` frame of a socket with no conversation yet."""
    return {
        "type": "history",
        "protocol": protocol.PROTOCOL_VERSION,
        "conversation": None,
        "after_id": None,
        "messages": [],
        "has_more": False,
        "limits": {
            "max_message_chars": chat_setting("CHAT_MAX_MESSAGE_CHARS"),
            "messages_per_minute": chat_setting("CHAT_RATE_PER_MINUTE_CONVERSATION"),
        },
    }


def history_frame(conversation: Any, after_id: int | None) -> dict[str, Any]:
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
        **history_empty(),
        "conversation": protocol.conversation_state(conversation),
        "after_id": after_id,
        "messages": [protocol.message_frame(message) for message in messages],
        "has_more": has_more,
    }


@dataclass(frozen=True)
class Received:
    decision: ratelimit.Decision
    started: services.ConversationStart | None = None  # this message started the conversation
    message: Any = None
    created: bool = False
    event: dict | None = None


def message_receive_limited(
    rules: list[ratelimit.Rule],
    conversation: Any,
    text: str,
    client_msg_id: str,
    *,
    customer_ref: str,
    ip: str,
) -> Received:
    """Rate limits, then save: one trip to the thread pool per customer message.

    Without a conversation the message starts one (saved before it is acted on), or finds
    the one it started already when it is a resend from a reloaded page.
    """
    decision = ratelimit.hit(rules)
    if not decision.allowed:
        return Received(decision)
    if conversation is not None:
        message, created = services.message_receive(
            conversation=conversation, text=text, client_msg_id=client_msg_id
        )
        return Received(decision, None, message, created, protocol.message_event(message))
    # One transaction: a resend of this first message on another socket (a reloaded page) sees
    # the conversation together with the message it looks for, or neither.
    with transaction.atomic():
        started = services.conversation_start(
            customer_ref=customer_ref, client_ip=ip, first_client_msg_id=client_msg_id
        )
        message, created = services.message_receive(
            conversation=started.conversation, text=text, client_msg_id=client_msg_id
        )
    return Received(decision, started, message, created, protocol.message_event(message))


def reply_event(conversation: Any, message: Any) -> tuple[dict | None, str]:
    reply = services.conversation_reply(conversation=conversation, message=message)
    event = protocol.message_event(reply) if reply is not None else None
    return event, conversation.status


def feedback_frame(conversation: Any, message_id: int, value: int) -> dict[str, Any]:
    message = services.feedback_record(
        conversation=conversation, message_id=message_id, value=value
    )
    return {"type": "feedback", "message_id": message.id, "value": message.feedback}


def handoff_event(conversation: Any, reason: str) -> dict[str, Any]:
    conversation, message = services.handoff_request(conversation=conversation, reason=reason)
    return protocol.message_event(message)


def csat_frame(conversation: Any, score: int) -> dict[str, Any]:
    conversation = services.csat_record(conversation=conversation, score=score)
    return {"type": "csat", "score": conversation.csat}

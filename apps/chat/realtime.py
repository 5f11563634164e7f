"""Channel-layer group sends of the support chat, for sync code (services, tasks, admin).

The one place outside the sockets that talks to the channel layer, so tasks and services
never import the consumers: they call these, and each consumer relays the events to its
socket (see `protocol.message_event` and `protocol.frame_event` for what an event carries).
"""

from __future__ import annotations

import hashlib
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.chat import protocol

SESSION_GROUP_PREFIX = "chat.agent-session."


def conversation_notify(*, conversation_id: int, events: list[dict[str, Any]]) -> None:
    """Push events, in order, to every socket of a conversation.

    Build events with `protocol.message_event(message)` and
    `protocol.frame_event(frame, conversation_id=...)`.
    """
    layer = get_channel_layer()
    for event in events:
        async_to_sync(layer.group_send)(protocol.conversation_group(conversation_id), event)


def agents_notify() -> None:
    """Make every open agent console reload its waiting list."""
    async_to_sync(get_channel_layer().group_send)(
        protocol.AGENTS_GROUP, protocol.agents_refresh_event()
    )


def conversation_closed_notify(*, message: Any, resolution: str) -> None:
    """Show the closing system message in open widgets, then close them and ask for CSAT."""
    closed = {
        "type": "closed",
        "status": "closed",
        "resolution": str(resolution),
        "csat_requested": True,
    }
    conversation_notify(
        conversation_id=message.conversation_id,
        events=[
            protocol.message_event(message),
            protocol.frame_event(closed, conversation_id=message.conversation_id),
        ],
    )


def agent_session_group(session_key: str) -> str:
    """The group of every console socket opened with one session (hashed: keys are secrets)."""
    return SESSION_GROUP_PREFIX + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def agent_session_end(*, session_key: str) -> None:
    """Close every console socket of a session that just ended (from sync code: logout)."""
    async_to_sync(get_channel_layer().group_send)(
        agent_session_group(session_key), {"type": "agent.session_ended"}
    )

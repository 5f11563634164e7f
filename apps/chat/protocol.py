"""The chat websocket protocol: frame validation, message -> frame shapes, group names.

Documented with examples in docs/chat-protocol.md. Everything here is plain data: the
consumers parse and validate incoming text with `parse_client_frame`, and turn saved rows
into outgoing frames with `message_frame` (customers) or `message_frame_for_staff` (the
agent console, with the bot's retrieval evidence). Serialisers touch related rows (the
agent's name), so call them from sync code, next to the service call that loaded the row.

Text is always plain text in frames: clients render it with `textContent`, never as HTML.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings

PROTOCOL_VERSION = 1

# Raw frame size cap, before JSON parsing: a message of CHAT_MAX_MESSAGE_CHARS characters
# fits many times over, even fully \u-escaped.
MAX_FRAME_BYTES = 16 * 1024
MAX_CLIENT_MSG_ID_CHARS = 64
# Frames are flat objects; a few levels leave room for later fields. 7,000 nested `[` (14 KB,
# under MAX_FRAME_BYTES) made json.loads raise RecursionError, which closed the socket.
MAX_FRAME_DEPTH = 8

CHAT_GROUP_PREFIX = "chat.conversation."
AGENTS_GROUP = "chat.agents"


def chat_setting(name: str) -> int:
    """Chat limits from settings, with defaults when settings.py does not define them."""
    defaults = {
        "CHAT_MAX_MESSAGE_CHARS": 1000,
        "CHAT_RATE_PER_MINUTE_CONVERSATION": 20,
        "CHAT_RATE_PER_MINUTE_IP": 60,
        "CHAT_HISTORY_LIMIT": 100,
        "CHAT_BOT_TYPING_DELAY_MS": 300,
        "CHAT_CONNECTS_PER_MINUTE_IP": 60,
    }
    return int(getattr(settings, name, defaults[name]))


def conversation_group(conversation_id: int) -> str:
    """Channel-layer group that every socket on one conversation joins (tabs + console)."""
    return f"{CHAT_GROUP_PREFIX}{conversation_id}"


class FrameError(Exception):
    """A client frame we refuse; becomes {"type": "error", "code", "message"}.

    `client_msg_id` is echoed back when the refused frame carried one, so the widget can
    mark that pending message as failed instead of resending it forever.
    """

    def __init__(self, code: str, message: str, *, client_msg_id: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.client_msg_id = client_msg_id

    def as_frame(self) -> dict[str, Any]:
        extra = {"client_msg_id": self.client_msg_id} if self.client_msg_id else {}
        return error_frame(self.code, self.message, **extra)


def error_frame(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": code, "message": message, **extra}


@dataclass(frozen=True)
class Field:
    kind: type | tuple[type, ...]
    required: bool = True
    choices: tuple[Any, ...] | None = None
    min_value: int | None = None
    max_chars: int | None = None


MAX_TOKEN_CHARS = 200

# Client -> server frames of the customer socket (/ws/chat/).
CHAT_FRAMES: dict[str, dict[str, Field]] = {
    "hello": {
        "token": Field(str, required=False, max_chars=MAX_TOKEN_CHARS),
        "after_id": Field(int, required=False, min_value=0),
        "customer": Field(str, required=False, max_chars=100),
    },
    "message": {
        "text": Field(str),
        "client_msg_id": Field(str, max_chars=MAX_CLIENT_MSG_ID_CHARS),
    },
    "typing": {},
    "feedback": {"message_id": Field(int, min_value=1), "value": Field(int, choices=(1, -1))},
    "handoff": {"reason": Field(str, required=False, max_chars=200)},
    "csat": {"score": Field(int, choices=(1, 2, 3, 4, 5))},
    "resume": {"after_id": Field(int, min_value=0)},
    "ping": {},
}

RESOLUTIONS = ("bot_resolved", "agent_resolved", "abandoned", "other")

# Client -> server frames of the staff socket (/ws/agent/).
AGENT_FRAMES: dict[str, dict[str, Field]] = {
    "open": {"conversation_id": Field(int, min_value=1)},
    "take": {"conversation_id": Field(int, min_value=1)},
    "reply": {
        "conversation_id": Field(int, min_value=1),
        "text": Field(str),
        "client_msg_id": Field(str, required=False, max_chars=MAX_CLIENT_MSG_ID_CHARS),
    },
    "typing": {"conversation_id": Field(int, min_value=1)},
    "release": {"conversation_id": Field(int, min_value=1)},
    "close": {
        "conversation_id": Field(int, min_value=1),
        "resolution": Field(str, choices=RESOLUTIONS),
    },
    "refresh": {},
    "ping": {},
}


def parse_client_frame(raw: str | None, schema: dict[str, dict[str, Field]]) -> dict[str, Any]:
    """Parse and validate one text frame; raise FrameError with a stable code.

    Returns a dict with "type" and only the fields the schema knows (extra keys dropped).
    Message text is checked for emptiness and length here so that a refused message never
    reaches the service (nothing is persisted for rejected frames).
    """
    if raw is None:
        raise FrameError("invalid_frame", "Send JSON text frames, not binary ones.")
    if len(raw.encode("utf-8", errors="replace")) > MAX_FRAME_BYTES:
        raise FrameError("frame_too_large", f"Frames are limited to {MAX_FRAME_BYTES} bytes.")
    if _nesting_depth(raw) > MAX_FRAME_DEPTH:
        raise FrameError(
            "frame_too_deep", f"Frames may nest objects and lists {MAX_FRAME_DEPTH} levels deep."
        )
    try:
        data = json.loads(raw)
    except ValueError:
        raise FrameError("invalid_json", "The frame is not valid JSON.") from None
    except RecursionError:  # belt and braces: the depth scan above should have caught it
        raise FrameError("frame_too_deep", "The frame is nested too deeply.") from None
    if not isinstance(data, dict):
        raise FrameError("invalid_frame", 'A frame is a JSON object with a "type".')
    client_msg_id = data.get("client_msg_id")
    try:
        return _validate(data, schema)
    except FrameError as exc:
        if isinstance(client_msg_id, str) and 0 < len(client_msg_id) <= MAX_CLIENT_MSG_ID_CHARS:
            exc.client_msg_id = client_msg_id
        raise


def _nesting_depth(raw: str) -> int:
    """The deepest `[`/`{` nesting outside strings: a linear scan, no recursion."""
    if raw.count("[") + raw.count("{") <= MAX_FRAME_DEPTH:
        return 0  # the common case, counted in C: too few brackets to matter
    depth = deepest = 0
    in_string = escaped = False
    for char in raw:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def _validate(data: dict[str, Any], schema: dict[str, dict[str, Field]]) -> dict[str, Any]:
    frame_type = data.get("type")
    if not isinstance(frame_type, str) or not frame_type:
        raise FrameError("invalid_frame", 'A frame is a JSON object with a "type".')
    if frame_type not in schema:
        known = ", ".join(sorted(schema))
        raise FrameError(
            "unknown_type", f"Unknown frame type {frame_type[:40]!r}; use one of {known}."
        )

    frame: dict[str, Any] = {"type": frame_type}
    for name, field in schema[frame_type].items():
        if name not in data or data[name] is None:
            if field.required:
                raise FrameError("missing_field", f'"{frame_type}" frames need "{name}".')
            continue
        value = data[name]
        # bool is an int in Python; a JSON true is never a valid id or score.
        if isinstance(value, bool) or not isinstance(value, field.kind):
            raise FrameError("invalid_field", f'"{name}" has the wrong type.')
        if field.choices is not None and value not in field.choices:
            allowed = ", ".join(str(c) for c in field.choices)
            raise FrameError("invalid_field", f'"{name}" must be one of {allowed}.')
        if field.min_value is not None and value < field.min_value:
            raise FrameError("invalid_field", f'"{name}" must be at least {field.min_value}.')
        if field.max_chars is not None and len(value) > field.max_chars:
            raise FrameError("invalid_field", f'"{name}" is longer than {field.max_chars}.')
        frame[name] = value

    if "text" in frame:
        frame["text"] = frame["text"].strip()
        if not frame["text"]:
            raise FrameError("empty_message", "The message is empty.")
        max_chars = chat_setting("CHAT_MAX_MESSAGE_CHARS")
        if len(frame["text"]) > max_chars:
            raise FrameError(
                "message_too_long",
                f"Messages are limited to {max_chars} characters; this one has "
                f"{len(frame['text'])}.",
            )
    if frame_type == "message" and not frame["client_msg_id"].strip():
        raise FrameError("missing_field", '"message" frames need a non-empty "client_msg_id".')
    return frame


# --- server -> client shapes ----------------------------------------------------------------


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def agent_display_name(user: Any) -> str:
    """What customers see of an agent: the display name set in admin, or "Support agent".

    Never the login, the email or the first name (an unset first name showed the login).
    """
    from apps.chat.models import AgentProfile

    return AgentProfile.display_name_of(user)


def message_frame(message: Any) -> dict[str, Any]:
    """A saved message as customers see it. Never includes evidence (staff only)."""
    frame = {
        "type": "message",
        "id": message.id,
        "sender": message.sender,
        "kind": message.kind,
        "text": message.text,
        "created_at": _iso(message.created_at),
        "client_msg_id": message.client_msg_id or None,
        "suggestions": [
            {"entry_id": s.get("entry_id"), "title": str(s.get("title", ""))}
            for s in (message.suggestions or [])
            if isinstance(s, dict)
        ],
        "feedback": message.feedback,
    }
    if message.sender == "agent":
        frame["agent_name"] = agent_display_name(message.agent)
    return frame


def message_frame_for_staff(message: Any) -> dict[str, Any]:
    """The same frame plus the bot's retrieval evidence and the agent's login, for the console."""
    frame = message_frame(message)
    frame["evidence"] = message.evidence or {}
    if message.sender == "agent" and message.agent is not None:
        frame["agent_username"] = message.agent.get_username()
    return frame


def conversation_state(conversation: Any) -> dict[str, Any]:
    """The conversation as customers see it (sent inside `history`)."""
    return {
        "id": str(conversation.public_id),
        "status": conversation.status,
        "agent_name": agent_display_name(conversation.assigned_agent)
        if conversation.status == "agent"
        else "",
        "csat": conversation.csat,
        "closed_at": _iso(conversation.closed_at),
    }


def conversation_summary(conversation: Any) -> dict[str, Any]:
    """A conversation row for the agent console lists."""
    agent = conversation.assigned_agent
    return {
        "id": conversation.id,
        "public_id": str(conversation.public_id),
        "status": conversation.status,
        "customer_ref": conversation.customer_ref,
        "handoff_reason": conversation.handoff_reason,
        "assigned_agent": agent.get_username() if agent is not None else None,
        "resolution": conversation.resolution,
        "csat": conversation.csat,
        "created_at": _iso(conversation.created_at),
        "updated_at": _iso(conversation.updated_at),
        "waiting_since": _iso(getattr(conversation, "waiting_since", None)),
        "closed_at": _iso(conversation.closed_at),
    }


# --- channel-layer events (what group_send carries) -----------------------------------------
# One event per saved message carries both shapes; each consumer picks the one its user may
# see, so the customer socket never forwards evidence.


def message_event(message: Any) -> dict[str, Any]:
    return {
        "type": "chat.message",
        "conversation_id": message.conversation_id,
        "frame": message_frame(message),
        "staff_frame": message_frame_for_staff(message),
    }


def frame_event(frame: dict[str, Any], *, conversation_id: int, origin: str = "") -> dict[str, Any]:
    """Any other frame for every socket of a conversation (typing, agent_joined, closed...).

    `origin` is the sending consumer's channel name, so it can skip its own echo.
    """
    return {
        "type": "chat.frame",
        "conversation_id": conversation_id,
        "frame": frame,
        "origin": origin,
    }


def agents_refresh_event() -> dict[str, Any]:
    """Tell every console to reload its waiting list (AGENTS_GROUP)."""
    return {"type": "agents.refresh"}

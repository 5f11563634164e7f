"""Conversation writes: receive, reply, hand off, agents, close, feedback.

Answering itself (retrieve + classify + decide) lives in apps.chat.services.answering.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import uuid
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Subquery
from django.utils import timezone

from apps.chat.exceptions import ChatError
from apps.chat.models import AgentProfile, Conversation, Message
from apps.chat.models import UnansweredQuestion as Unanswered
from apps.chat.privacy import mask_pii
from apps.chat.services.answering import answer_question

logger = logging.getLogger(__name__)

HANDOFF_OFFER_TEXT = (
    "I'm not sure I know the answer to that. Would you like to talk to a person? "
    "You can also rephrase your question."
)
HANDOFF_QUEUED_TEXT = "We are finding a person to help you. Please stay here."
SUGGESTIONS_TEXT = "I'm not completely sure. Did you mean one of these?"


def _hash_ip(ip: str) -> str:
    return hashlib.sha256(f"{settings.SECRET_KEY}:{ip}".encode()).hexdigest() if ip else ""


def conversation_get_or_create(
    *, public_id: uuid.UUID, customer_ref: str = "", client_ip: str = ""
) -> Conversation:
    conversation, created = Conversation.objects.get_or_create(
        public_id=public_id,
        defaults={"customer_ref": customer_ref[:100], "client_ip_hash": _hash_ip(client_ip)},
    )
    if created:
        logger.info("conversation started id=%s", conversation.id)
    return conversation


def message_receive(
    *, conversation: Conversation, text: str, client_msg_id: str
) -> tuple[Message, bool]:
    """Save the customer's message (masked) before anything acts on it; dedupe resends."""
    text = (text or "").strip()
    if not text:
        raise ChatError("The message is empty.", code="empty_message")
    if len(text) > settings.CHAT_MAX_MESSAGE_CHARS:
        raise ChatError(
            f"Messages are limited to {settings.CHAT_MAX_MESSAGE_CHARS} characters.",
            code="message_too_long",
        )
    client_msg_id = (client_msg_id or "")[:64]
    # Two statements, no transaction: this runs for every customer message. The UPDATE doubles
    # as the closed check, and the unique constraint on (conversation, client_msg_id) as the
    # resend check (a resend touches updated_at, which is harmless).
    touched = (
        Conversation.objects.filter(id=conversation.id)
        .exclude(status=Conversation.Status.CLOSED)
        .update(updated_at=timezone.now())
    )
    if not touched:
        existing = (
            conversation.messages.filter(client_msg_id=client_msg_id).first()
            if client_msg_id
            else None
        )
        if existing is not None:  # a resend of a message stored before the close
            return existing, False
        raise ChatError("This conversation is closed; start a new one.", code="conversation_closed")
    # Inside a transaction (an admin action, a test) a failed INSERT must not break it, so it
    # gets a savepoint; in autocommit (the socket) a failed statement harms nothing, and a
    # BEGIN/COMMIT pair would be two more round trips per message.
    guard = transaction.atomic() if connection.in_atomic_block else contextlib.nullcontext()
    try:
        with guard:
            message = Message.objects.create(
                conversation=conversation,
                sender=Message.Sender.CUSTOMER,
                text=mask_pii(text),
                client_msg_id=client_msg_id,
            )
    except IntegrityError:  # a resend (or the same resend racing us): return the stored one
        return conversation.messages.get(client_msg_id=client_msg_id), False
    return message, True


def conversation_reply(*, conversation: Conversation, message: Message) -> Message | None:
    """The bot's answer to a saved customer message; silent while a person owns the chat."""
    # One query for both checks (this runs for every message): who owns the conversation
    # now, and has this message been answered already (a resend)?
    answered = (
        Message.objects.filter(reply_to=message)
        .exclude(sender=Message.Sender.CUSTOMER)
        .order_by("id")
        .values("id")[:1]
    )
    state = (
        Conversation.objects.filter(id=conversation.id)
        .annotate(answered_id=Subquery(answered))
        .values_list("status", "answered_id")
        .first()
    )
    if state is None:
        raise Conversation.DoesNotExist(f"conversation {conversation.id} no longer exists")
    conversation.status, answered_id = state
    if conversation.status != Conversation.Status.BOT:
        return None
    if answered_id is not None:  # a resend of an already-answered message
        return Message.objects.get(id=answered_id)
    result = answer_question(message.text)
    decision, entries, evidence = result.decision, result.entries, result.evidence()
    if result.handoff_requested:
        # The customer typed that they want a person: queue them rather than answer.
        updated, notice = handoff_request(
            conversation=conversation,
            reason="customer asked in chat",
            reply_to=message,
            evidence=evidence,
        )
        conversation.status = updated.status
        logger.info("bot handoff on request conversation=%s", conversation.id)
        return notice
    fields: dict[str, Any] = {
        "conversation": conversation,
        "sender": Message.Sender.BOT,
        "reply_to": message,
        "evidence": evidence,
    }
    if decision.action == "answer":
        entry = entries[decision.ranked[0].entry_id]
        fields.update(kind=Message.Kind.ANSWER, text=entry.answer, entry=entry)
    elif decision.action == "suggest":
        fields.update(
            kind=Message.Kind.SUGGESTIONS,
            text=SUGGESTIONS_TEXT,
            suggestions=[
                {"entry_id": r.entry_id, "title": entries[r.entry_id].title}
                for r in decision.ranked[:3]
                if r.entry_id in entries
            ],
        )
    else:
        fields.update(kind=Message.Kind.HANDOFF_OFFER, text=HANDOFF_OFFER_TEXT)
    if decision.action == "answer":
        reply = Message.objects.create(**fields)
    else:
        with transaction.atomic():
            reply = Message.objects.create(**fields)
            # The question has no reply yet (checked above), so no unanswered row either.
            Unanswered.objects.create(
                message=message, reason=Unanswered.Reason.LOW_CONFIDENCE, text=message.text
            )
    logger.info(
        "bot reply conversation=%s decision=%s confidence=%.3f latency_ms=%s",
        conversation.id,
        decision.action,
        decision.confidence,
        result.latency_ms,
    )
    return reply


def feedback_record(*, conversation: Conversation, message_id: int, value: int) -> Message:
    if value not in (1, -1):
        raise ChatError("Feedback is 1 (helpful) or -1 (not helpful).", code="invalid_feedback")
    message = conversation.messages.filter(id=message_id, sender=Message.Sender.BOT).first()
    if message is None:
        raise ChatError("No bot message with that id in this conversation.", code="unknown_message")
    with transaction.atomic():
        message.feedback = value
        message.save(update_fields=["feedback"])
        question = message.reply_to
        if value == -1 and question is not None:
            Unanswered.objects.get_or_create(
                message=question,
                reason=Unanswered.Reason.THUMBS_DOWN,
                defaults={"text": question.text},
            )
    return message


def _system_message(conversation: Conversation, text: str, **extra: Any) -> Message:
    return Message.objects.create(
        conversation=conversation,
        sender=Message.Sender.SYSTEM,
        kind=Message.Kind.SYSTEM,
        text=text,
        **extra,
    )


def handoff_request(
    *,
    conversation: Conversation,
    reason: str = "customer asked",
    reply_to: Message | None = None,
    evidence: dict[str, Any] | None = None,
) -> tuple[Conversation, Message]:
    with transaction.atomic():
        conversation = Conversation.objects.select_for_update().get(id=conversation.id)
        if conversation.status == Conversation.Status.CLOSED:
            raise ChatError("This conversation is closed.", code="conversation_closed")
        if conversation.status in (Conversation.Status.WAITING, Conversation.Status.AGENT):
            raise ChatError("A person is already on the way.", code="already_handed_off")
        conversation.status = Conversation.Status.WAITING
        conversation.handoff_reason = reason[:200]
        conversation.waiting_since = timezone.now()
        conversation.save(update_fields=["status", "handoff_reason", "waiting_since", "updated_at"])
        message = _system_message(
            conversation,
            HANDOFF_QUEUED_TEXT,
            reply_to=reply_to,
            evidence=evidence or {},
        )
    return conversation, message


def _locked(conversation_id: int) -> Conversation:
    try:
        return Conversation.objects.select_for_update().get(id=conversation_id)
    except Conversation.DoesNotExist as exc:
        raise ChatError("No such conversation.", code="unknown_conversation") from exc


def agent_take(*, conversation_id: int, agent: Any) -> tuple[Conversation, Message]:
    with transaction.atomic():
        conversation = _locked(conversation_id)
        if conversation.status == Conversation.Status.CLOSED:
            raise ChatError("This conversation is closed.", code="conversation_closed")
        if (
            conversation.status == Conversation.Status.AGENT
            and conversation.assigned_agent_id != agent.id
        ):
            raise ChatError("Another agent already took this conversation.", code="already_taken")
        conversation.status = Conversation.Status.AGENT
        conversation.assigned_agent = agent
        conversation.save(update_fields=["status", "assigned_agent", "updated_at"])
        name = AgentProfile.display_name_of(agent)  # customers see it: never the login
        message = _system_message(conversation, f"{name} joined the conversation.", agent=agent)
    return conversation, message


def _owned(conversation_id: int, agent: Any) -> Conversation:
    conversation = _locked(conversation_id)
    if (
        conversation.status != Conversation.Status.AGENT
        or conversation.assigned_agent_id != agent.id
    ):
        raise ChatError("Take the conversation before acting on it.", code="not_your_conversation")
    return conversation


def agent_reply(*, conversation_id: int, agent: Any, text: str) -> Message:
    text = (text or "").strip()
    if not text:
        raise ChatError("The message is empty.", code="empty_message")
    if len(text) > settings.CHAT_MAX_MESSAGE_CHARS * 4:
        raise ChatError("That reply is too long.", code="message_too_long")
    with transaction.atomic():
        conversation = _owned(conversation_id, agent)
        message = Message.objects.create(
            conversation=conversation, sender=Message.Sender.AGENT, text=text, agent=agent
        )
        conversation.save(update_fields=["updated_at"])
    return message


def agent_release(*, conversation_id: int, agent: Any) -> tuple[Conversation, Message]:
    with transaction.atomic():
        conversation = _owned(conversation_id, agent)
        conversation.status = Conversation.Status.BOT
        conversation.assigned_agent = None
        conversation.save(update_fields=["status", "assigned_agent", "updated_at"])
        message = _system_message(conversation, "You are back with the assistant.", agent=agent)
    return conversation, message


def conversation_close(
    *, conversation_id: int, agent: Any | None, resolution: str
) -> tuple[Conversation, Message]:
    if resolution not in Conversation.Resolution.values:
        raise ChatError(
            f"resolution must be one of {', '.join(Conversation.Resolution.values)}",
            code="invalid_resolution",
        )
    with transaction.atomic():
        conversation = _locked(conversation_id)
        if conversation.status == Conversation.Status.CLOSED:
            raise ChatError("This conversation is already closed.", code="conversation_closed")
        if (
            agent is not None
            and conversation.status == Conversation.Status.AGENT
            and conversation.assigned_agent_id != agent.id
        ):
            raise ChatError("Another agent owns this conversation.", code="not_your_conversation")
        conversation.status = Conversation.Status.CLOSED
        conversation.resolution = resolution
        conversation.closed_at = timezone.now()
        conversation.save(update_fields=["status", "resolution", "closed_at", "updated_at"])
        message = _system_message(
            conversation, "This conversation is closed. How satisfied were you (1-5)?"
        )
    return conversation, message


def csat_record(*, conversation: Conversation, score: int) -> Conversation:
    if not isinstance(score, int) or not 1 <= score <= 5:
        raise ChatError("Satisfaction is a whole number from 1 to 5.", code="invalid_csat")
    with transaction.atomic():
        conversation = _locked(conversation.id)
        if conversation.status != Conversation.Status.CLOSED:
            raise ChatError("Rate the conversation once it is closed.", code="not_closed")
        if conversation.csat is not None:
            raise ChatError("Thanks, this conversation is already rated.", code="already_rated")
        conversation.csat = score
        conversation.save(update_fields=["csat", "updated_at"])
    return conversation

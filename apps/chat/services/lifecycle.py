"""Conversation lifecycle: idle close, retention, and a customer's export/erasure."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.chat.models import Conversation, Message

logger = logging.getLogger(__name__)


def conversations_close_idle() -> list[Message]:
    """Close bot conversations nobody wrote in for CHAT_IDLE_CLOSE_MINUTES.

    Resolved by the bot when its last reply was an answer nobody thumbed down; else abandoned.
    Returns the closing system message of each, for the caller to push to open widgets.
    """
    cutoff = timezone.now() - timedelta(minutes=settings.CHAT_IDLE_CLOSE_MINUTES)
    closing_messages = []
    for conversation in Conversation.objects.filter(
        status=Conversation.Status.BOT, updated_at__lt=cutoff
    ).iterator():
        last_bot = conversation.messages.filter(sender=Message.Sender.BOT).order_by("-id").first()
        resolved = (
            last_bot is not None
            and last_bot.kind == Message.Kind.ANSWER
            and last_bot.feedback != -1
        )
        resolution = (
            Conversation.Resolution.BOT_RESOLVED if resolved else Conversation.Resolution.ABANDONED
        )
        closed_at = timezone.now()
        with transaction.atomic():
            updated = Conversation.objects.filter(
                id=conversation.id, status=Conversation.Status.BOT
            ).update(status=Conversation.Status.CLOSED, resolution=resolution, closed_at=closed_at)
            if updated:  # the instance the message points at shows the close, for the caller
                conversation.status = Conversation.Status.CLOSED
                conversation.resolution = resolution
                conversation.closed_at = closed_at
                closing_messages.append(
                    Message.objects.create(
                        conversation=conversation,
                        sender=Message.Sender.SYSTEM,
                        kind=Message.Kind.SYSTEM,
                        text="This conversation was closed after a period of inactivity. "
                        "How satisfied were you (1-5)?",
                    )
                )
    if closing_messages:
        logger.info("closed %s idle conversations", len(closing_messages))
    return closing_messages


def conversations_purge_expired() -> int:
    """Delete conversations (and their messages) older than CHAT_RETENTION_DAYS."""
    cutoff = timezone.now() - timedelta(days=settings.CHAT_RETENTION_DAYS)
    deleted, _ = Conversation.objects.filter(updated_at__lt=cutoff).delete()
    if deleted:
        logger.info(
            "retention: deleted %s rows older than %s days", deleted, settings.CHAT_RETENTION_DAYS
        )
    return deleted


def customer_conversations_export(*, customer_ref: str) -> dict[str, Any]:
    """Everything we hold about one widget customer, as JSON-ready data (subject access)."""
    conversations = Conversation.objects.filter(customer_ref=customer_ref).prefetch_related(
        "messages"
    )
    return {
        "customer_ref": customer_ref,
        "exported_at": timezone.now().isoformat(),
        "conversations": [
            {
                "id": str(c.public_id),
                "status": c.status,
                "resolution": c.resolution,
                "csat": c.csat,
                "created_at": c.created_at.isoformat(),
                "messages": [
                    {"sender": m.sender, "text": m.text, "created_at": m.created_at.isoformat()}
                    for m in c.messages.all()
                ],
            }
            for c in conversations
        ],
    }


def customer_conversations_erase(*, customer_ref: str) -> int:
    if not customer_ref:
        return 0
    with transaction.atomic():
        count = Conversation.objects.filter(customer_ref=customer_ref).count()
        Conversation.objects.filter(customer_ref=customer_ref).delete()
    logger.info("erased %s conversations of one customer", count)
    return count

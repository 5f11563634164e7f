"""Chat reads for consumers, the console, admin and analytics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.chat.models import Conversation, KnowledgeEntry, Message, UnansweredQuestion


def messages_after(
    *, conversation: Conversation, after_id: int | None, limit: int = 200
) -> list[Message]:
    """Messages the client has not seen; without `after_id`, the most recent `limit`."""
    messages = conversation.messages.all()
    if after_id is not None:
        return list(messages.filter(id__gt=after_id).order_by("id")[:limit])
    return list(reversed(messages.order_by("-id")[:limit]))


def conversations_waiting() -> list[Conversation]:
    return list(
        Conversation.objects.filter(status=Conversation.Status.WAITING).order_by(
            "waiting_since", "id"
        )
    )


def conversations_for_agent(*, agent: Any) -> list[Conversation]:
    return list(
        Conversation.objects.filter(
            status=Conversation.Status.AGENT, assigned_agent=agent
        ).order_by("-updated_at")
    )


def conversation_detail(*, conversation_id: int) -> tuple[Conversation, list[Message]]:
    conversation = Conversation.objects.select_related("assigned_agent").get(id=conversation_id)
    return conversation, list(conversation.messages.select_related("entry").order_by("id"))


def active_entries() -> list[KnowledgeEntry]:
    return list(KnowledgeEntry.objects.filter(active=True).prefetch_related("phrasings"))


def chat_analytics(*, days: int = 30) -> dict[str, Any]:
    """Numbers for the analytics page: volume per day, who resolved, intents, backlog."""
    since = timezone.now() - timedelta(days=days)
    conversations = Conversation.objects.filter(created_at__gte=since)
    per_day = list(
        conversations.annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(n=Count("id"))
        .order_by("day")
    )
    total = conversations.count()
    closed = conversations.filter(status=Conversation.Status.CLOSED)
    handed_off = conversations.exclude(handoff_reason="").count()
    bot_resolved = closed.filter(resolution=Conversation.Resolution.BOT_RESOLVED).count()
    top_intents = list(
        Message.objects.filter(
            sender=Message.Sender.BOT, kind=Message.Kind.ANSWER, created_at__gte=since
        )
        .values("entry__title", "entry__intent")
        .annotate(n=Count("id"))
        .order_by("-n")[:10]
    )
    csat = closed.filter(csat__isnull=False).values_list("csat", flat=True)
    csat_values = list(csat)
    return {
        "days": days,
        "total": total,
        "per_day": [{"day": row["day"].isoformat(), "n": row["n"]} for row in per_day],
        "bot_resolved_share": bot_resolved / total if total else 0.0,
        "handoff_share": handed_off / total if total else 0.0,
        "top_intents": top_intents,
        "unanswered_open": UnansweredQuestion.objects.filter(
            state=UnansweredQuestion.State.OPEN
        ).count(),
        "csat_mean": sum(csat_values) / len(csat_values) if csat_values else None,
        "feedback": Message.objects.filter(created_at__gte=since).aggregate(
            up=Count("id", filter=Q(feedback=1)), down=Count("id", filter=Q(feedback=-1))
        ),
        "retention_days": settings.CHAT_RETENTION_DAYS,
    }

"""Chat background jobs: idle close, retention (index updates are the core's ml.index_* tasks)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="chat.close_idle_conversations")
def close_idle_conversations() -> int:
    from apps.chat import protocol, services
    from apps.chat.consumers import conversation_notify
    from apps.chat.models import Conversation

    closing_messages = services.conversations_close_idle()
    for message in closing_messages:  # open widgets show the close and ask for CSAT
        closed = {
            "type": "closed",
            "status": "closed",
            "resolution": Conversation.objects.get(id=message.conversation_id).resolution,
            "csat_requested": True,
        }
        conversation_notify(
            conversation_id=message.conversation_id,
            events=[
                protocol.message_event(message),
                protocol.frame_event(closed, conversation_id=message.conversation_id),
            ],
        )
    return len(closing_messages)


@shared_task(name="chat.purge_expired_conversations")
def purge_expired_conversations() -> int:
    from apps.chat import services

    return services.conversations_purge_expired()

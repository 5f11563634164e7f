"""Chat background jobs: idle close, retention (index updates are the core's ml.index_* tasks)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="chat.close_idle_conversations")
def close_idle_conversations() -> int:
    from apps.chat import realtime
    from apps.chat.services.lifecycle import conversations_close_idle

    closing_messages = conversations_close_idle()
    for message in closing_messages:  # open widgets show the close and ask for CSAT
        realtime.conversation_closed_notify(
            message=message, resolution=message.conversation.resolution
        )
    return len(closing_messages)


@shared_task(name="chat.purge_expired_conversations")
def purge_expired_conversations() -> int:
    from apps.chat.services.lifecycle import conversations_purge_expired

    return conversations_purge_expired()

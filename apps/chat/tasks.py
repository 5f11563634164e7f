"""Chat background jobs: index updates, idle close, retention."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="chat.index_entries", acks_late=True)
def index_entries(entry_ids: list[int]) -> dict[str, int]:
    from apps.chat import services

    return services.kb_index_sync(entry_ids=entry_ids)


@shared_task(name="chat.rebuild_index", acks_late=True)
def rebuild_index() -> int:
    from apps.chat import services

    return services.kb_index_rebuild()


@shared_task(name="chat.ensure_index_current", acks_late=True)
def ensure_index_current() -> dict[str, object]:
    from apps.chat import services

    return services.kb_index_ensure_current()


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

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


@shared_task(name="chat.close_idle_conversations")
def close_idle_conversations() -> int:
    from apps.chat import services

    return services.conversations_close_idle()


@shared_task(name="chat.purge_expired_conversations")
def purge_expired_conversations() -> int:
    from apps.chat import services

    return services.conversations_purge_expired()

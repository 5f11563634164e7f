"""Keep the vector index in step with every write to the knowledge base, wherever it came from;
close an agent's console sockets when the agent logs out."""

from __future__ import annotations

from typing import Any

from celery.signals import worker_ready
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from apps.chat.models import EntryPhrasing, KnowledgeEntry


@receiver(post_save, sender=KnowledgeEntry)
def entry_saved(sender: Any, instance: KnowledgeEntry, **kwargs: Any) -> None:
    from apps.chat import services

    services.title_phrasing_sync(instance)
    services.entry_changed(instance.id)


@receiver(post_delete, sender=KnowledgeEntry)
def entry_deleted(sender: Any, instance: KnowledgeEntry, **kwargs: Any) -> None:
    from apps.chat import services

    services.entry_changed(instance.id)


@receiver([post_save, post_delete], sender=EntryPhrasing)
def phrasing_changed(sender: Any, instance: EntryPhrasing, **kwargs: Any) -> None:
    from apps.chat import services

    origin = kwargs.get("origin")
    if isinstance(origin, KnowledgeEntry) or getattr(origin, "model", None) is KnowledgeEntry:
        return  # cascade of an entry deletion: the entry's own signal covers it
    services.entry_changed(instance.entry_id)


@worker_ready.connect
def index_checked_on_worker_start(sender: Any = None, **kwargs: Any) -> None:
    """A worker that starts after ML_BASE_MODEL changed rebuilds the index for the new encoder."""
    from apps.chat import tasks

    tasks.ensure_index_current.delay()


@receiver(user_logged_out)
def agent_consoles_closed_on_logout(sender: Any, request: Any, **kwargs: Any) -> None:
    """An agent who logs out in one tab loses the console open in another (any process)."""
    from apps.chat.consumers.agent import agent_session_end

    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        agent_session_end(session_key=session_key)

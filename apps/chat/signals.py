"""Keep the vector index in step with every write to the knowledge base, wherever it came from;
close an agent's console sockets when the agent logs out."""

from __future__ import annotations

from typing import Any

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
    """Also for the cascade of an entry deletion: the phrasing's id is what leaves the index."""
    from apps.chat import services

    services.entry_changed(instance.entry_id, phrasing_ids=[instance.id])


@receiver(user_logged_out)
def agent_consoles_closed_on_logout(sender: Any, request: Any, **kwargs: Any) -> None:
    """An agent who logs out in one tab loses the console open in another (any process)."""
    from apps.chat.realtime import agent_session_end

    session_key = getattr(getattr(request, "session", None), "session_key", None)
    if session_key:
        agent_session_end(session_key=session_key)

"""Keep the vector index in step with every write to the knowledge base, wherever it came from."""

from __future__ import annotations

from typing import Any

from celery.signals import worker_ready
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

"""Keep the vector index in step with every write to the knowledge base, wherever it came from."""

from __future__ import annotations

from typing import Any

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

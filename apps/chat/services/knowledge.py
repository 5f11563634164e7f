"""Knowledge-base writes: entries, phrasings, and keeping the vector index in step."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import QuerySet
from django.utils.text import slugify

from apps.chat.kb_index import KB_INDEX
from apps.chat.models import EntryPhrasing, KnowledgeEntry
from ml.registry import indexes

logger = logging.getLogger(__name__)

_bulk = threading.local()


@dataclass
class IndexBatch:
    """Changed entries and phrasings, turned into one index task of phrasing ids after commit.

    Phrasing ids are kept as well as entry ids: a deleted phrasing (or every phrasing of a
    deleted entry) can no longer be found through its entry when the task is sent.
    """

    entry_ids: set[int] = field(default_factory=set)
    phrasing_ids: set[int] = field(default_factory=set)

    def add(self, entry_id: int, phrasing_ids: Iterable[int]) -> None:
        self.entry_ids.add(entry_id)
        self.phrasing_ids.update(phrasing_ids)


@contextlib.contextmanager
def index_updates_deferred(*, enqueue: bool = True) -> Iterator[IndexBatch]:
    """Collect what changes inside the block and send one index task at the end.

    Imports of hundreds of entries would otherwise queue one task per saved row. With
    `enqueue=False` the caller rebuilds the index itself.
    """
    touched = IndexBatch()
    previous = getattr(_bulk, "touched", None)
    _bulk.touched = touched
    try:
        yield touched
    finally:
        _bulk.touched = previous
    if touched.entry_ids and enqueue:
        transaction.on_commit(lambda: _enqueue_index(touched))


def _enqueue_index(batch: IndexBatch) -> None:
    """Send the core's sync task with every phrasing id the batch touched (run after commit)."""
    ids = batch.phrasing_ids | set(
        EntryPhrasing.objects.filter(entry_id__in=batch.entry_ids).values_list("id", flat=True)
    )
    indexes.index_sync_queue(name=KB_INDEX, ids=ids)


def entry_changed(entry_id: int, *, phrasing_ids: Iterable[int] = ()) -> None:
    """Called by the model signals: schedule one index update per transaction, after commit.

    Saving an entry with its inline phrasings fires many signals; they share one task.
    `phrasing_ids` names phrasings changed or deleted on their own.
    """
    touched = getattr(_bulk, "touched", None)
    if touched is not None:
        touched.add(entry_id, phrasing_ids)
        return
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        batch = IndexBatch()
        batch.add(entry_id, phrasing_ids)
        _enqueue_index(batch)
        return
    outermost = connection.atomic_blocks[0]
    pending = getattr(_bulk, "pending", None)
    if pending is not None and pending[0] is outermost and not pending[2]["sent"]:
        pending[1].add(entry_id, phrasing_ids)
        return
    # A new batch per transaction; a rolled-back block's batch is simply dropped. The same
    # Atomic object can be reused (a decorated function), hence the "sent" mark.
    batch = IndexBatch()
    batch.add(entry_id, phrasing_ids)
    state = {"sent": False}
    _bulk.pending = (outermost, batch, state)

    def flush() -> None:
        state["sent"] = True
        _enqueue_index(batch)

    transaction.on_commit(flush)


def intent_slug_for(title: str) -> str:
    base = slugify(title)[:80] or "entry"
    slug, n = base, 2
    while KnowledgeEntry.objects.filter(intent=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


def title_phrasing_sync(entry: KnowledgeEntry) -> None:
    """The title is always one of the entry's phrasings (it is what people click on)."""
    existing = entry.phrasings.filter(source=EntryPhrasing.Source.TITLE).first()
    if existing and existing.text == entry.title:
        return
    if existing:
        existing.delete()
    EntryPhrasing.objects.get_or_create(
        entry=entry, text=entry.title[:500], defaults={"source": EntryPhrasing.Source.TITLE}
    )


def entry_create(
    *,
    title: str,
    answer: str,
    phrasings: Sequence[str] = (),
    intent: str = "",
    tags: Sequence[str] = (),
    language: str = "en",
    active: bool = True,
    source: str = EntryPhrasing.Source.MANUAL,
) -> KnowledgeEntry:
    with transaction.atomic():
        entry = KnowledgeEntry.objects.create(
            title=title.strip(),
            answer=answer.strip(),
            intent=intent or intent_slug_for(title),
            tags=list(tags),
            language=language,
            active=active,
        )
        phrasing_add_many(entry=entry, texts=phrasings, source=source)
    return entry


def entries_active_set(*, entries: QuerySet[KnowledgeEntry], active: bool) -> int:
    """Switch the given entries on or off; returns how many changed.

    Saved one by one (not queryset.update) so post_save updates the index; one atomic block
    means one index task for the whole selection.
    """
    changed = 0
    with transaction.atomic():
        for entry in entries.filter(active=not active):
            entry.active = active
            entry.save(update_fields=["active", "updated_at"])
            changed += 1
    return changed


def phrasing_add_many(
    *, entry: KnowledgeEntry, texts: Iterable[str], source: str = EntryPhrasing.Source.MANUAL
) -> int:
    existing = set(entry.phrasings.values_list("text", flat=True))
    new = []
    for text in texts:
        text = " ".join(text.split())[:500]
        if text and text not in existing:
            existing.add(text)
            new.append(EntryPhrasing(entry=entry, text=text, source=source))
    EntryPhrasing.objects.bulk_create(new)
    if new:
        entry_changed(entry.id)  # bulk_create sends no post_save
    return len(new)


# --- index maintenance: the core does the work (ml/registry/indexes/) -----------------------


def kb_index_sync(*, entry_ids: Sequence[int]) -> indexes.IndexSyncResult:
    """Re-embed the given entries' phrasings now (in this process); see `indexes.index_sync`."""
    ids = EntryPhrasing.objects.filter(entry_id__in=entry_ids).values_list("id", flat=True)
    return indexes.index_sync(name=KB_INDEX, ids=list(ids))


def kb_index_rebuild(
    *, batch_size: int | None = None, progress: Callable[[float], None] | None = None
) -> int:
    """Embed every active phrasing into a fresh index and publish it as one new version."""
    return indexes.index_rebuild(name=KB_INDEX, batch_size=batch_size, progress=progress)


def kb_index_ensure_current() -> indexes.IndexEnsureResult:
    """Rebuild the index when the saved one was not built by this encoder, else do nothing."""
    return indexes.index_ensure_current(name=KB_INDEX)

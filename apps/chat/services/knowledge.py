"""Knowledge-base writes: entries, phrasings, and keeping the vector index in step."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
from django.db import transaction
from django.db.models import QuerySet
from django.utils.text import slugify

from apps.chat.kb_index import kb_index_writer
from apps.chat.models import EntryPhrasing, KnowledgeEntry
from ml.index import IndexSpaceMismatch, VectorIndex

logger = logging.getLogger(__name__)

_bulk = threading.local()


@contextlib.contextmanager
def index_updates_deferred(*, enqueue: bool = True) -> Iterator[set[int]]:
    """Collect entry ids changed inside the block and send one index task at the end.

    Imports of hundreds of entries would otherwise queue one task per saved row. With
    `enqueue=False` the caller rebuilds the index itself.
    """
    touched: set[int] = set()
    previous = getattr(_bulk, "touched", None)
    _bulk.touched = touched
    try:
        yield touched
    finally:
        _bulk.touched = previous
    if touched and enqueue:
        ids = sorted(touched)
        transaction.on_commit(lambda: _enqueue_index(ids))


def _enqueue_index(entry_ids: list[int]) -> None:
    from apps.chat import tasks

    tasks.index_entries.delay(entry_ids)


def entry_changed(entry_id: int) -> None:
    """Called by the model signals: schedule one index update per transaction, after commit.

    Saving an entry with its inline phrasings fires many signals; they share one task.
    """
    touched = getattr(_bulk, "touched", None)
    if touched is not None:
        touched.add(entry_id)
        return
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        _enqueue_index([entry_id])
        return
    outermost = connection.atomic_blocks[0]
    pending = getattr(_bulk, "pending", None)
    if pending is not None and pending["block"] is outermost and not pending["sent"]:
        pending["ids"].add(entry_id)
        return
    # A new batch per transaction; a rolled-back block's batch is simply dropped. The same
    # Atomic object can be reused (a decorated function), hence the "sent" mark.
    batch: dict = {"block": outermost, "ids": {entry_id}, "sent": False}
    _bulk.pending = batch

    def flush() -> None:
        batch["sent"] = True
        _enqueue_index(sorted(batch["ids"]))

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


# --- index maintenance (run by Celery tasks) ---------------------------------------------------


def _encode(texts: list[str]) -> np.ndarray:
    from ml.registry.serving import get_encoder

    return get_encoder().encode(texts)


def kb_index_sync(*, entry_ids: Sequence[int]) -> dict[str, int]:
    """Re-embed the given entries' phrasings and drop every vector no active phrasing owns.

    Idempotent: running it twice, or for an entry deleted meanwhile, leaves the same index.
    When the saved index was built by another encoder, every phrasing is re-embedded instead
    (a fresh index), since this encoder's vectors cannot join it.
    """
    try:
        return _kb_index_sync(entry_ids)
    except IndexSpaceMismatch as exc:
        logger.warning("chat kb index from another encoder (%s); rebuilding it", exc)
        return {"upserted": kb_index_rebuild(), "removed": 0, "rebuilt": 1}


def _kb_index_sync(entry_ids: Sequence[int]) -> dict[str, int]:
    phrasings = list(
        EntryPhrasing.objects.filter(entry_id__in=entry_ids, entry__active=True).values_list(
            "id", "text"
        )
    )
    live_ids = set(
        EntryPhrasing.objects.filter(entry__active=True).values_list("id", flat=True).iterator()
    )
    with kb_index_writer() as index:
        stale = [int(i) for i in index.ids() if int(i) not in live_ids]
        removed = index.remove(stale) if stale else 0
        if phrasings:
            ids = np.array([pid for pid, _ in phrasings], dtype=np.int64)
            index.upsert(ids, _encode([text for _, text in phrasings]))
    logger.info(
        "chat kb index sync entries=%s upserted=%s removed=%s",
        len(entry_ids),
        len(phrasings),
        removed,
    )
    return {"upserted": len(phrasings), "removed": removed}


def kb_index_rebuild(*, batch_size: int = 512, progress=None) -> int:  # noqa: ANN001
    """Embed every active phrasing into a fresh index and publish it as one new version."""
    rows = list(
        EntryPhrasing.objects.filter(entry__active=True).order_by("id").values_list("id", "text")
    )
    with kb_index_writer(fresh=True) as index:
        for start in range(0, len(rows), batch_size):
            chunk = rows[start : start + batch_size]
            index.upsert(
                np.array([pid for pid, _ in chunk], dtype=np.int64), _encode([t for _, t in chunk])
            )
            if progress is not None:
                progress(min(1.0, (start + len(chunk)) / max(1, len(rows))))
        count = len(index)
    return count


def kb_index_ensure_current() -> dict[str, object]:
    """Rebuild the index when the saved one was not built by this encoder, else do nothing.

    Run when a worker starts: after ML_BASE_MODEL changes (or on the first start after an
    upgrade from indexes that did not record their encoder) the chat comes back by itself.
    """
    from django.conf import settings

    from apps.chat.kb_index import kb_index_path
    from ml.embeddings import encoder_space

    wanted = encoder_space(settings.ML_BASE_MODEL)  # without loading the model
    meta = VectorIndex.saved_meta(kb_index_path())
    saved = meta.get("space") if meta else None
    if meta is None and not EntryPhrasing.objects.filter(entry__active=True).exists():
        return {"rebuilt": False, "space": wanted, "reason": "no index and nothing to index"}
    if saved == wanted:
        return {"rebuilt": False, "space": wanted, "reason": "current"}
    vectors = kb_index_rebuild()
    logger.info("chat kb index rebuilt for encoder %s (was %s): %s vectors", wanted, saved, vectors)
    return {"rebuilt": True, "space": wanted, "previous_space": saved, "vectors": vectors}

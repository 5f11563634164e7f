"""Items as a named core index: item id -> the vector of its text (title, tags, category, text).

The recommender says what belongs (items not removed, of every client: ids are primary keys,
so clients never collide); the core syncs, rebuilds, checks the encoder and hot-reloads web
processes (docs/ml-core.md). Unavailable items keep their vector (making one available again
needs no re-embedding): searches filter by the client's recommendable ids instead, and the
response's row fetch re-checks the database, so an item leaves results at once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction

from apps.recommender.models import Item
from apps.recommender.selectors import RecommendableIds
from ml.registry import indexes

log = logging.getLogger(__name__)

ITEM_INDEX = "recommender_items"
# Unfiltered hits fetched per wanted hit before falling back to a search filtered in FAISS:
# with one shop per index nearly every hit is eligible, so the cheap search almost always wins.
OVERFETCH = 3


def item_index_source(ids: Sequence[int] | None) -> Iterator[tuple[int, str]]:
    """(item id, text) of items not removed; of `ids` only, unless None."""
    rows = Item.objects.filter(removed=False)
    if ids is not None:
        rows = rows.filter(id__in=list(ids))
    rows = rows.order_by("id").only("id", "title", "description", "tags", "category")
    for item in rows.iterator(chunk_size=2000):
        yield item.id, item.text()


def item_index_spec() -> indexes.NamedIndexSpec:
    return indexes.NamedIndexSpec(
        name=ITEM_INDEX,
        source=item_index_source,
        approximate_threshold=settings.RECOMMENDER_INDEX_APPROXIMATE_THRESHOLD,
    )


def item_index_sync_on_commit(*, item_ids: Sequence[int]) -> None:
    """Queue re-embedding of these items once the rows that changed are committed."""
    wanted = sorted(set(item_ids))
    if wanted:
        transaction.on_commit(lambda: indexes.index_sync_queue(name=ITEM_INDEX, ids=wanted))


def item_vectors(*, item_ids: Sequence[int]) -> dict[int, np.ndarray]:
    """Stored unit vectors of those items that are in the index (not yet synced: left out)."""
    index = indexes.index_reader(name=ITEM_INDEX).get()
    present = [i for i in item_ids if i in index]
    if not present:
        return {}
    vectors = index.get_vectors(present)
    return {item_id: vectors[row] for row, item_id in enumerate(present)}


def text_vector(text: str) -> np.ndarray:
    """The encoder's vector of a text: for an item whose vector is not synced yet."""
    from ml.registry.serving import encode_texts

    return np.asarray(encode_texts([text])[0], dtype=np.float32)


@dataclass(frozen=True)
class Neighbour:
    item_id: int
    score: float  # cosine similarity
    query_row: int  # which query vector found it


_search_threads_set = False


def _search_threads_once() -> None:
    """FAISS searches of a few query rows are fastest single-threaded: with OpenMP's default
    (one thread per core) a 5-row search of 5,000 items took 60 ms p50 on 2 busy cores, on one
    thread 0.7 ms (same machine, same minute). Set once per process that searches."""
    global _search_threads_set
    if not _search_threads_set and settings.RECOMMENDER_SEARCH_THREADS:
        import faiss

        faiss.omp_set_num_threads(settings.RECOMMENDER_SEARCH_THREADS)
        _search_threads_set = True


def item_neighbours(
    *,
    queries: np.ndarray,
    k: int,
    recommendable: RecommendableIds,
    category: str | None = None,
    exclude_ids: set[int] | frozenset[int] = frozenset(),
) -> list[list[Neighbour]]:
    """Per query row, up to k recommendable neighbours (of this client, not excluded).

    First a small unfiltered search filtered in numpy; a row that comes back short is searched
    again with the filter inside FAISS, which returns k eligible hits whenever k exist.
    """
    _search_threads_once()
    queries = np.atleast_2d(queries).astype(np.float32)  # (Q, D)
    index = indexes.index_reader(name=ITEM_INDEX).get()
    if len(index) == 0 or queries.shape[0] == 0:
        return [[] for _ in range(queries.shape[0])]
    fetch = min(len(index), k * OVERFETCH + len(exclude_ids))
    scores, ids = index.search(queries, fetch)
    results: list[list[Neighbour]] = []
    short_rows: list[int] = []
    excluded = np.fromiter(exclude_ids, dtype=np.int64, count=len(exclude_ids))
    for row in range(queries.shape[0]):
        keep = recommendable.mask(ids[row], category=category) & (ids[row] >= 0)
        if excluded.size:
            keep &= ~np.isin(ids[row], excluded)
        hits = [
            Neighbour(int(i), float(s), row)
            for i, s in zip(ids[row][keep][:k], scores[row][keep][:k], strict=True)
        ]
        if len(hits) < k and fetch < len(index):
            short_rows.append(row)
        results.append(hits)
    if short_rows:
        allowed = recommendable.allowed(category=category)
        scores, ids = index.search(
            queries[short_rows],
            k,
            allow_ids=allowed,
            exclude_ids=excluded if excluded.size else None,
        )
        for slot, row in enumerate(short_rows):
            keep = ids[slot] >= 0
            results[row] = [
                Neighbour(int(i), float(s), row)
                for i, s in zip(ids[slot][keep], scores[slot][keep], strict=True)
            ]
    return results

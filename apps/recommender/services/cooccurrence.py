"""Item-to-item co-occurrence ("people who did X also did Y"), per client, kept in the cache.

`cooccurrence_refresh` (the beat task `recommender.refresh_cooccurrence`) reads a window of
events, keeps each user's last N distinct items, and stores each item's top M neighbours by
cosine of their user sets, under a new generation so readers never see half a refresh.
Items with no precomputed entry (new since the last refresh) are computed on demand from
the events table for that one item and cached for a few minutes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from scipy import sparse

from apps.recommender.models import Event

log = logging.getLogger(__name__)

ON_DEMAND_TTL_S = 300
ON_DEMAND_USERS = 500  # recent users per item read by the on-demand fallback
STORE_CHUNK = 2000

Neighbours = list[tuple[int, float]]  # (item id, score in (0, 1]), best first


def _generation_key(client_id: int) -> str:
    return f"recommender:cooc-generation:{client_id}"


def _item_key(client_id: int, generation: str, item_id: int) -> str:
    return f"recommender:cooc:{client_id}:{generation}:{item_id}"


def _on_demand_key(client_id: int, item_id: int) -> str:
    return f"recommender:cooc-live:{client_id}:{item_id}"


def _status_key(client_id: int) -> str:
    return f"recommender:cooc-status:{client_id}"


@dataclass(frozen=True)
class CooccurrenceStatus:
    """What admin shows per client: state (queued, running, done, failed) and the last run."""

    state: str
    updated_at: str
    items: int = 0
    users: int = 0
    events: int = 0
    seconds: float = 0.0
    error: str = ""


def cooccurrence_status(*, client_id: int) -> CooccurrenceStatus | None:
    raw = cache.get(_status_key(client_id))
    return CooccurrenceStatus(**raw) if raw else None


def cooccurrence_status_set(*, client_id: int, state: str, **fields: object) -> None:
    status = CooccurrenceStatus(state=state, updated_at=timezone.now().isoformat(), **fields)
    cache.set(_status_key(client_id), asdict(status), timeout=None)


def cooccurrence_matrix(
    user_item_pairs: Sequence[tuple[int, int]], *, neighbours: int
) -> dict[int, Neighbours]:
    """Top `neighbours` per item by cosine of the sets of users who touched both.

    Args:
        user_item_pairs: distinct (user id, item id) pairs.
        neighbours: how many to keep per item.
    """
    if not user_item_pairs:
        return {}
    pairs = np.asarray(user_item_pairs, dtype=np.int64)  # (P, 2)
    users, user_rows = np.unique(pairs[:, 0], return_inverse=True)
    items, item_cols = np.unique(pairs[:, 1], return_inverse=True)
    ones = np.ones(pairs.shape[0], dtype=np.float32)
    x = sparse.csr_matrix((ones, (user_rows, item_cols)), shape=(users.size, items.size))
    x.data[:] = 1.0  # a pair listed twice still counts once
    co = (x.T @ x).tocsr()  # (I, I): users who touched both
    counts = np.asarray(x.sum(axis=0)).ravel()  # (I,): users per item
    co.setdiag(0)
    co.eliminate_zeros()
    result: dict[int, Neighbours] = {}
    for row in range(items.size):
        start, end = co.indptr[row], co.indptr[row + 1]
        if start == end:
            continue
        cols = co.indices[start:end]
        scores = co.data[start:end] / np.sqrt(counts[row] * counts[cols])
        if cols.size > neighbours:
            top = np.argpartition(-scores, neighbours - 1)[:neighbours]
            cols, scores = cols[top], scores[top]
        order = np.lexsort((items[cols], -scores))
        result[int(items[row])] = [
            (int(items[c]), round(float(s), 6))
            for c, s in zip(cols[order], scores[order], strict=True)
        ]
    return result


def _recent_pairs(*, client_id: int, since: datetime, until: datetime) -> tuple[list, int]:
    """Distinct (user, item) pairs of each user's last N items in the window, and events read."""
    per_user = settings.RECOMMENDER_COOCCURRENCE_ITEMS_PER_USER
    rows = (
        Event.objects.filter(client_id=client_id, occurred_at__gte=since, occurred_at__lte=until)
        .order_by("user_id", "-occurred_at", "-id")
        .values_list("user_id", "item_id")
        .iterator(chunk_size=20_000)
    )
    pairs: list[tuple[int, int]] = []
    current_user, current_items, events = None, set(), 0
    for user_id, item_id in rows:
        events += 1
        if user_id != current_user:
            current_user, current_items = user_id, set()
        if item_id in current_items or len(current_items) >= per_user:
            continue
        current_items.add(item_id)
        pairs.append((user_id, item_id))
    return pairs, events


def cooccurrence_refresh(
    *, client_id: int, now: datetime, progress: Callable[[float], None] | None = None
) -> CooccurrenceStatus:
    """Recompute the client's neighbours and publish them as one new generation."""
    started = timezone.now()
    cooccurrence_status_set(client_id=client_id, state="running")
    try:
        since = now - timedelta(days=settings.RECOMMENDER_COOCCURRENCE_DAYS)
        pairs, events = _recent_pairs(client_id=client_id, since=since, until=now)
        table = cooccurrence_matrix(pairs, neighbours=settings.RECOMMENDER_COOCCURRENCE_NEIGHBOURS)
        with_neighbours = len(table)
        for _, item in pairs:  # "none" is an answer too: no on-demand query for these items
            table.setdefault(item, [])
        generation = str(int(now.timestamp() * 1000))
        ttl_s = max(2 * settings.RECOMMENDER_COOCCURRENCE_REFRESH_S, 3600)
        entries = list(table.items())
        for start in range(0, len(entries), STORE_CHUNK):
            chunk = entries[start : start + STORE_CHUNK]
            cache.set_many(
                {_item_key(client_id, generation, item): value for item, value in chunk},
                timeout=ttl_s,
            )
            if progress:
                progress(min(1.0, (start + len(chunk)) / len(entries)))
        cache.set(_generation_key(client_id), generation, timeout=ttl_s)
    except Exception as exc:
        cooccurrence_status_set(client_id=client_id, state="failed", error=str(exc)[:500])
        raise
    seconds = round((timezone.now() - started).total_seconds(), 3)
    cooccurrence_status_set(
        client_id=client_id,
        state="done",
        items=with_neighbours,
        users=len({user for user, _ in pairs}),
        events=events,
        seconds=seconds,
    )
    log.info("co-occurrence refreshed client=%s items=%d events=%d", client_id, len(table), events)
    return cooccurrence_status(client_id=client_id)  # type: ignore[return-value]


def _on_demand(*, client_id: int, item_ids: Sequence[int], now: datetime) -> dict[int, Neighbours]:
    """Neighbours of items newer than the last refresh, straight from the events: two queries
    for all of them (their recent users, then what those users touched)."""
    since = now - timedelta(days=settings.RECOMMENDER_COOCCURRENCE_DAYS)
    window = Event.objects.filter(client_id=client_id, occurred_at__gte=since, occurred_at__lte=now)
    seed_users = list(
        window.filter(item_id__in=list(item_ids))
        .order_by("-occurred_at")
        .values_list("item_id", "user_id")[: ON_DEMAND_USERS * len(item_ids)]
    )
    users_of: dict[int, set[int]] = {item: set() for item in item_ids}
    for item, user in seed_users:
        users_of[item].add(user)
    all_users = set().union(*users_of.values())
    touched: dict[int, set[int]] = {}
    if all_users:
        for user, item in window.filter(user_id__in=all_users).values_list("user_id", "item_id"):
            touched.setdefault(user, set()).add(item)
    limit = settings.RECOMMENDER_COOCCURRENCE_NEIGHBOURS
    result: dict[int, Neighbours] = {}
    for item, users in users_of.items():
        counts: dict[int, int] = {}
        for user in users:
            for other in touched.get(user, ()):
                if other != item:
                    counts[other] = counts.get(other, 0) + 1
        # share of this item's users who also touched the other (no per-item totals here)
        ranked = sorted(counts.items(), key=lambda pair: (-pair[1], pair[0]))[:limit]
        result[item] = [(other, round(n / len(users), 6)) for other, n in ranked]
    return result


def cooccurrence_neighbours(
    *, client_id: int, item_ids: Sequence[int], now: datetime
) -> dict[int, Neighbours]:
    """Neighbours of each item: the precomputed generation, else computed on demand (cached)."""
    if not item_ids:
        return {}
    generation = cache.get(_generation_key(client_id))
    keys = {_on_demand_key(client_id, item): item for item in item_ids}
    if generation is not None:
        keys.update({_item_key(client_id, generation, item): item for item in item_ids})
    found = cache.get_many(list(keys))
    result: dict[int, Neighbours] = {}
    for key, value in found.items():
        item = keys[key]
        if item not in result or key.startswith("recommender:cooc:"):
            result[item] = value  # the precomputed entry wins over an on-demand one
    missing = [item for item in item_ids if item not in result]
    if missing:
        computed = _on_demand(client_id=client_id, item_ids=missing, now=now)
        cache.set_many(
            {_on_demand_key(client_id, item): value for item, value in computed.items()},
            timeout=ON_DEMAND_TTL_S,
        )
        result.update(computed)
    return result

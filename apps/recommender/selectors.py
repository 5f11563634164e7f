"""Reads for the recommender's hot paths: one query each, every one filtered by client.

Per-request work is kept small: the client's recommendable ids are cached per process until
the catalogue stamp (one Redis GET) moves, popular lists live in the cache for a minute, and
item rows for a response come back in one query.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Case, F, FloatField, Sum, Value, When
from django.db.models.expressions import RawSQL

from apps.recommender.models import Event, EventType, Item

POPULAR_LIST_LENGTH = 500  # enough for any k after category and exclusion filters


def _catalog_stamp_key(client_id: int) -> str:
    return f"recommender:catalog-stamp:{client_id}"


def catalog_stamp(*, client_id: int) -> str:
    """Changes whenever an item of the client is created, changed, removed or toggled."""
    stamp = cache.get(_catalog_stamp_key(client_id))
    return "" if stamp is None else str(stamp)


def catalog_stamp_bump(*, client_id: int) -> None:
    cache.set(_catalog_stamp_key(client_id), time.time_ns(), timeout=None)


@dataclass(frozen=True)
class RecommendableIds:
    """The client's available, not removed items: sorted ids and each one's category."""

    ids: np.ndarray  # (N,) int64, ascending
    categories: np.ndarray  # (N,) object (str), aligned with ids
    stamp: str = ""  # the catalogue stamp they were read at (popular_items reuses it)

    def allowed(self, *, category: str | None = None) -> np.ndarray:
        if not category:
            return self.ids
        return self.ids[self.categories == category]

    def mask(self, candidate_ids: np.ndarray, *, category: str | None = None) -> np.ndarray:
        """True where a candidate id is recommendable (and in `category` when given)."""
        allowed = self.allowed(category=category)
        if allowed.size == 0:
            return np.zeros(candidate_ids.shape, dtype=bool)
        pos = np.clip(np.searchsorted(allowed, candidate_ids), 0, allowed.size - 1)
        return allowed[pos] == candidate_ids


_recommendable_cache: dict[int, tuple[str, RecommendableIds]] = {}
_recommendable_lock = threading.Lock()


def recommendable_ids(*, client_id: int) -> RecommendableIds:
    """The client's recommendable item ids, reloaded from the database when the stamp moves.

    Used to filter index hits in numpy; the final row fetch (`items_for_response`) re-checks
    availability in the database, so a stale copy can cost a slot, never show a removed item.
    """
    stamp = catalog_stamp(client_id=client_id)
    cached = _recommendable_cache.get(client_id)
    if cached is not None and cached[0] == stamp and stamp:
        return cached[1]
    rows = list(
        Item.objects.filter(client_id=client_id, available=True, removed=False)
        .order_by("id")
        .values_list("id", "category")
    )
    ids = np.fromiter((row[0] for row in rows), dtype=np.int64, count=len(rows))
    categories = np.array([row[1] for row in rows], dtype=object)
    if not stamp:  # first sight of this client since the cache was emptied: set one
        catalog_stamp_bump(client_id=client_id)
        stamp = catalog_stamp(client_id=client_id)
    result = RecommendableIds(ids=ids, categories=categories, stamp=stamp)
    with _recommendable_lock:
        _recommendable_cache[client_id] = (stamp, result)
    return result


@dataclass(frozen=True)
class ItemRow:
    id: int
    external_id: str
    title: str
    category: str
    created_at: datetime


def items_for_response(
    *, client_id: int, item_ids: Iterable[int], category: str | None = None
) -> dict[int, ItemRow]:
    """Recommendable rows of these ids, in one query: the guarantee that removed or
    unavailable items never leave the API, whatever the index or a cache still holds."""
    ids = [int(i) for i in item_ids]
    rows = Item.objects.filter(client_id=client_id, available=True, removed=False)
    if connection.vendor == "postgresql":
        # One array parameter: an IN list of ~150 candidates cost ~1.5 ms of CPU per request,
        # Django resolving and psycopg binding each element in Python.
        rows = rows.filter(id__in=RawSQL("SELECT unnest(%s::bigint[])", (ids,)))
    else:
        rows = rows.filter(id__in=ids)
    if category:
        rows = rows.filter(category=category)
    return {
        row[0]: ItemRow(*row)
        for row in rows.values_list("id", "external_id", "title", "category", "created_at")
    }


def item_by_external_id(*, client_id: int, external_id: str) -> Item | None:
    """A live (not removed) item of this client; unavailable ones too (they still have text)."""
    return (
        Item.objects.filter(client_id=client_id, external_id=external_id, removed=False)
        .only("id", "external_id", "title", "description", "tags", "category", "available")
        .first()
    )


@dataclass(frozen=True)
class RecentItem:
    item_id: int
    title: str
    event_type: str


@dataclass(frozen=True)
class UserHistory:
    """A user's recent distinct items (newest first) and what they saw or bought."""

    user_id: int | None  # None: no events yet (maybe not even a row)
    recent: list[RecentItem]
    seen_ids: set[int]
    purchased_ids: set[int]


def user_history(
    *, client_id: int, user_external_id: str, recent: int, scan: int = 500
) -> UserHistory:
    """The user's last `scan` events in one query (the user row comes with them)."""
    rows = (
        Event.objects.filter(client_id=client_id, user__external_id=user_external_id)
        .order_by("-occurred_at", "-id")
        .values_list("user_id", "item_id", "item__title", "type")[:scan]
    )
    user_id: int | None = None
    recent_items: list[RecentItem] = []
    seen: set[int] = set()
    purchased: set[int] = set()
    for user_id, item_id, title, event_type in rows:  # noqa: B007
        if event_type == EventType.PURCHASE:
            purchased.add(item_id)
        if item_id not in seen and len(recent_items) < recent:
            recent_items.append(RecentItem(item_id, title, event_type))
        seen.add(item_id)
    return UserHistory(user_id, recent_items, seen, purchased)


def _event_weight_expression() -> Case:
    weights = settings.RECOMMENDER_EVENT_WEIGHTS
    return Case(
        *[When(type=kind, then=Value(float(weight))) for kind, weight in weights.items()],
        default=Value(1.0),
        output_field=FloatField(),
    )


@dataclass(frozen=True)
class PopularItem:
    item_id: int
    category: str
    score: float  # weighted events in the window


_popular_memo: dict[str, tuple[float, list[PopularItem]]] = {}
_popular_lock = threading.Lock()


def popular_items(
    *, client_id: int, window_hours: int, now: datetime, stamp: str | None = None
) -> list[PopularItem]:
    """The client's most interacted-with recommendable items in the window, cached briefly.

    The cache key carries the window and the catalogue stamp (pass `stamp` when the caller
    has just read it), so an item removed or made unavailable drops out of the next list; the
    response's row fetch catches the rest. Each process also keeps the list it last read for
    as long as the shared cache would (RECOMMENDER_POPULAR_CACHE_S): no cache read, no
    unpickling of 500 rows per request. Callers must not change the list.
    """
    if stamp is None:
        stamp = catalog_stamp(client_id=client_id)
    key = f"recommender:popular:{client_id}:{window_hours}:{stamp}"
    memo = _popular_memo.get(key)
    if memo is not None and memo[0] > time.monotonic():
        return memo[1]
    cached = cache.get(key)
    if cached is not None:
        return _popular_remember(key, [PopularItem(*row) for row in cached])
    since = now - timedelta(hours=window_hours)
    rows = list(
        Event.objects.filter(
            client_id=client_id,
            occurred_at__gte=since,
            occurred_at__lte=now,
            item__available=True,
            item__removed=False,
        )
        .values("item_id")
        .annotate(category=F("item__category"), score=Sum(_event_weight_expression()))
        .order_by("-score", "item_id")
        .values_list("item_id", "category", "score")[:POPULAR_LIST_LENGTH]
    )
    cache.set(key, rows, timeout=settings.RECOMMENDER_POPULAR_CACHE_S)
    return _popular_remember(key, [PopularItem(*row) for row in rows])


def _popular_remember(key: str, items: list[PopularItem]) -> list[PopularItem]:
    now = time.monotonic()
    with _popular_lock:
        for old in [k for k, (until, _) in _popular_memo.items() if until <= now]:
            del _popular_memo[old]
        _popular_memo[key] = (now + settings.RECOMMENDER_POPULAR_CACHE_S, items)
    return items

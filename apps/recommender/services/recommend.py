"""The three read endpoints: recommendations for a user, similar items, popular items.

Each gathers candidates, fetches their rows in one query (which re-checks availability),
ranks and explains them. Recommendations also pick the user's experiment variant (strategy
or pinned model version) and record the impression shown.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import IntegrityError, transaction

from apps.recommender.exceptions import ItemNotFound
from apps.recommender.experiments.services import impression_record, variant_for_user
from apps.recommender.models import ShopClient, ShopUser, Variant
from apps.recommender.selectors import (
    item_by_external_id,
    items_for_response,
    popular_items,
    recommendable_ids,
    user_history,
)
from apps.recommender.services.candidates import (
    Candidate,
    CandidateFilter,
    Seed,
    cooccurrence_candidates,
    merge_candidates,
    new_candidates,
    popular_candidates,
    text_candidates,
)
from apps.recommender.services.ranking import (
    ModelScores,
    Ranked,
    model_scores,
    rank,
    reason_for,
)

EXCLUDE_CHOICES = ("seen", "purchased", "none")


@dataclass(frozen=True)
class RecommendationList:
    items: list[Ranked]
    model_version: str | None
    request_id: str
    variant: str | None


def _request_id() -> str:
    return uuid.uuid4().hex


def _user_get_or_create(*, client: ShopClient, external_id: str) -> ShopUser:
    """The shop's user, created the first time the shop asks about them."""
    user = ShopUser.objects.filter(client=client, external_id=external_id).first()
    if user is not None:
        return user
    try:
        with transaction.atomic():
            return ShopUser.objects.create(client=client, external_id=external_id)
    except IntegrityError:  # created by a concurrent request
        return ShopUser.objects.get(client=client, external_id=external_id)


def _context_seed(*, client: ShopClient, external_id: str | None) -> Seed | None:
    if not external_id:
        return None
    item = item_by_external_id(client_id=client.id, external_id=external_id)
    if item is None:
        raise ItemNotFound(external_id=external_id)
    return Seed(item.id, item.title, None, text=item.text())


def recommendations_for_user(
    *,
    client: ShopClient,
    user_external_id: str,
    k: int,
    now: datetime,
    category: str | None = None,
    exclude: str = "seen",
    context_item: str | None = None,
) -> RecommendationList:
    """Personal recommendations; a user with no history gets popular and context-based items."""
    context = _context_seed(client=client, external_id=context_item)
    variant: Variant | None = variant_for_user(client=client, user_external_id=user_external_id)
    strategy = variant.strategy if variant else Variant.Strategy.RANKED
    history = user_history(
        client_id=client.id,
        user_external_id=user_external_id,
        recent=settings.RECOMMENDER_RECENT_ITEMS,
    )
    user = (
        ShopUser(id=history.user_id, client=client, external_id=user_external_id)
        if history.user_id is not None
        else _user_get_or_create(client=client, external_id=user_external_id)
    )
    excluded = {"seen": history.seen_ids, "purchased": history.purchased_ids}.get(exclude, set())
    flt = CandidateFilter(
        recommendable=recommendable_ids(client_id=client.id),
        category=category or None,
        exclude_ids=frozenset(excluded | ({context.item_id} if context else set())),
    )
    seeds = [Seed(r.item_id, r.title, r.event_type) for r in history.recent]
    popular = popular_items(
        client_id=client.id,
        window_hours=settings.RECOMMENDER_POPULAR_WINDOW_HOURS,
        now=now,
        stamp=flt.recommendable.stamp or None,
    )
    pool = 3 * k  # candidates per source: enough to rank, few enough to stay fast

    groups = []
    if strategy != Variant.Strategy.POPULAR:
        if context:
            groups.append(text_candidates(seeds=[context], per_seed=pool, flt=flt, context=True))
        groups.append(text_candidates(seeds=seeds, per_seed=k, flt=flt))
    if strategy == Variant.Strategy.RANKED:
        cooc_seeds = ([context] if context else []) + seeds
        groups.append(
            cooccurrence_candidates(
                client_id=client.id, seeds=cooc_seeds, per_seed=k, flt=flt, now=now
            )
        )
    groups.append(popular_candidates(popular=popular, limit=pool, flt=flt))
    candidates = merge_candidates(*groups)
    if len(candidates) < k:  # a shop without events yet: its newest items fill the list
        candidates = merge_candidates(
            list(candidates.values()), new_candidates(limit=pool, flt=flt)
        )

    model = ModelScores({}, None, None)
    if strategy == Variant.Strategy.RANKED:
        model = model_scores(
            client_id=client.id,
            # oldest first, the item on screen last: the model reads a sequence in time order
            recent_item_ids=[seed.item_id for seed in reversed(seeds)]
            + ([context.item_id] if context else []),
            candidate_ids=list(candidates),
            version_id=variant.model_version_id if variant else None,
        )
    rows = items_for_response(client_id=client.id, item_ids=candidates, category=flt.category)
    ranked = rank(
        candidates=candidates,
        rows=rows,
        popularity={p.item_id: p.score for p in popular},
        model=model,
        now=now,
        k=k,
    )
    request_id = _request_id()
    impression_record(
        client=client,
        user=user,
        variant=variant,
        surface="for_you",
        item_ids=[r.item.id for r in ranked],
        model_version_id=model.version_id,
        request_id=request_id,
        shown_at=now,
    )
    return RecommendationList(
        ranked, model.version_label, request_id, variant.name if variant else None
    )


def similar_items(
    *, client: ShopClient, external_id: str, k: int, now: datetime, category: str | None = None
) -> RecommendationList:
    """Items like this one: text neighbours and co-occurrence, ranked like recommendations."""
    seed = _context_seed(client=client, external_id=external_id)
    assert seed is not None  # noqa: S101  (external_id is a URL part, never empty)
    flt = CandidateFilter(
        recommendable=recommendable_ids(client_id=client.id),
        category=category or None,
        exclude_ids=frozenset({seed.item_id}),
    )
    candidates = merge_candidates(
        text_candidates(seeds=[seed], per_seed=2 * k, flt=flt, context=True),
        cooccurrence_candidates(client_id=client.id, seeds=[seed], per_seed=k, flt=flt, now=now),
    )
    popular = popular_items(
        client_id=client.id, window_hours=settings.RECOMMENDER_POPULAR_WINDOW_HOURS, now=now
    )
    model = model_scores(
        client_id=client.id, recent_item_ids=[seed.item_id], candidate_ids=list(candidates)
    )
    rows = items_for_response(client_id=client.id, item_ids=candidates, category=flt.category)
    ranked = rank(
        candidates=candidates,
        rows=rows,
        popularity={p.item_id: p.score for p in popular},
        model=model,
        now=now,
        k=k,
    )
    return RecommendationList(ranked, model.version_label, _request_id(), None)


def popular_list(
    *,
    client: ShopClient,
    k: int,
    now: datetime,
    category: str | None = None,
    window_hours: int | None = None,
) -> RecommendationList:
    """The client's most interacted-with items in the window; score = weighted events."""
    window = window_hours or settings.RECOMMENDER_POPULAR_WINDOW_HOURS
    popular = popular_items(client_id=client.id, window_hours=window, now=now)
    if category:
        popular = [p for p in popular if p.category == category]
    head = popular[: 2 * k + 10]  # spare rows for items that went unavailable since caching
    rows = items_for_response(client_id=client.id, item_ids=[p.item_id for p in head])
    ranked = [
        Ranked(
            row, round(p.score, 6), "popular", reason_for(Candidate(p.item_id, "popular", 1.0), row)
        )
        for p in head
        if (row := rows.get(p.item_id)) is not None
    ][:k]
    return RecommendationList(ranked, None, _request_id(), None)

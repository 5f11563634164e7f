"""Deterministic bucketing and impression records; the recommendation API calls both."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from apps.recommender.models import Experiment, Impression, ShopClient, ShopUser, Variant

BUCKETS = 10_000


def bucket_of(*, salt: str, user_external_id: str) -> float:
    """A stable point in [0, 1) per (experiment, user): same user, same variant, every call."""
    digest = hashlib.sha256(f"{salt}:{user_external_id}".encode()).digest()
    return (int.from_bytes(digest[:8], "big") % BUCKETS) / BUCKETS


def variant_for_user(*, client: ShopClient, user_external_id: str) -> Variant | None:
    """The running experiment's variant for this user, or None when no experiment runs."""
    experiment = (
        Experiment.objects.filter(client=client, status=Experiment.Status.RUNNING)
        .prefetch_related("variants")
        .first()
    )
    if experiment is None:
        return None
    variants = list(experiment.variants.all())
    if not variants:
        return None
    point = bucket_of(salt=experiment.salt, user_external_id=user_external_id)
    edge = 0.0
    for variant in variants:
        edge += variant.traffic_share
        if point < edge:
            return variant
    return variants[-1]  # shares that sum to a hair under 1 (float rounding)


def impression_record(
    *,
    client: ShopClient,
    user: ShopUser,
    variant: Variant | None,
    surface: str,
    item_ids: Sequence[int],
    model_version_id: int | None,
    request_id: str,
    shown_at: datetime,
) -> Impression:
    return Impression.objects.create(
        client=client,
        user=user,
        variant=variant,
        surface=surface,
        item_ids=list(item_ids),
        model_version_id=model_version_id,
        request_id=request_id,
        shown_at=shown_at,
    )

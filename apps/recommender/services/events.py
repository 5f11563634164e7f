"""Event ingest: batches idempotent by the client's event id, a result per row, never a 500.

A resent batch (a retry after a timeout) answers `duplicate` for the rows already stored and
stores nothing twice: ids are checked first and inserts use ON CONFLICT DO NOTHING, so even
two concurrent copies of a batch keep one row per event id.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from apps.recommender.models import Event, EventType, Item, ShopClient, ShopUser
from apps.recommender.services.batches import (
    BatchResult,
    RowResult,
    batch_size_check,
    row_external_id,
    serializer_errors,
)

log = logging.getLogger(__name__)


@extend_schema_serializer(component_name="RecommenderEventRow")
class EventRowSerializer(serializers.Serializer):
    """One event. `value` is the rating for `rating` (required there), else e.g. a quantity."""

    event_id = serializers.CharField(max_length=200)
    user_id = serializers.CharField(max_length=200)
    item_id = serializers.CharField(max_length=200)
    type = serializers.ChoiceField(choices=EventType.values)
    value = serializers.FloatField(required=False, allow_null=True, min_value=0)
    timestamp = serializers.DateTimeField()

    def validate_value(self, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise serializers.ValidationError("must be a finite number")
        return value

    def validate_timestamp(self, value: datetime) -> datetime:
        now = self.context["now"]  # the server's clock, injected (tests pass their own)
        skew = timedelta(seconds=settings.RECOMMENDER_EVENT_FUTURE_SKEW_S)
        if value > now + skew:
            raise serializers.ValidationError(
                f"{value.isoformat()} is in the future (server time {now.isoformat()}, "
                f"{settings.RECOMMENDER_EVENT_FUTURE_SKEW_S} s of clock skew allowed)"
            )
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["type"] == EventType.RATING and attrs.get("value") is None:
            raise serializers.ValidationError({"value": ["a rating needs a value"]})
        return attrs


@transaction.atomic
def events_ingest(*, client: ShopClient, rows: Sequence[Any], now: datetime) -> BatchResult:
    """Store the good rows; each bad one gets its errors. Users are created on first sight."""
    batch_size_check(rows)
    results: list[RowResult] = []
    valid: dict[str, tuple[RowResult, dict[str, Any]]] = {}
    for index, row in enumerate(rows):
        result = RowResult(index=index, external_id=row_external_id(row, "event_id"), status="")
        results.append(result)
        serializer = EventRowSerializer(data=row, context={"now": now})
        if not serializer.is_valid():
            result.status, result.errors = "error", serializer_errors(serializer.errors)
            continue
        data = serializer.validated_data
        if data["event_id"] in valid:
            result.status = "duplicate"  # the same event twice in one batch: stored once
            continue
        valid[data["event_id"]] = (result, data)

    stored = set(
        Event.objects.filter(client=client, external_id__in=list(valid)).values_list(
            "external_id", flat=True
        )
    )
    for event_id in stored:
        valid.pop(event_id)[0].status = "duplicate"

    items = dict(
        Item.objects.filter(
            client=client, external_id__in={data["item_id"] for _, data in valid.values()}
        ).values_list("external_id", "id")
    )
    for event_id, (result, data) in list(valid.items()):
        if data["item_id"] not in items:
            result.status = "error"
            result.errors = {"item_id": [f"no item {data['item_id']!r} in this catalogue"]}
            del valid[event_id]

    users = _users_get_or_create(
        client=client, external_ids={d["user_id"] for _, d in valid.values()}
    )
    events = [
        Event(
            client=client,
            external_id=event_id,
            user_id=users[data["user_id"]],
            item_id=items[data["item_id"]],
            type=data["type"],
            value=data.get("value"),
            occurred_at=data["timestamp"],
        )
        for event_id, (_, data) in valid.items()
    ]
    Event.objects.bulk_create(events, ignore_conflicts=True)
    for result, _ in valid.values():
        result.status = "created"
    batch = BatchResult(results=results)
    log.info(
        "events ingested client=%s created=%d duplicate=%d failed=%d",
        client.id,
        batch.count("created"),
        batch.count("duplicate"),
        batch.count("error"),
    )
    return batch


def _users_get_or_create(*, client: ShopClient, external_ids: set[str]) -> dict[str, int]:
    """external id -> ShopUser id; missing users inserted in one statement (race-safe)."""
    if not external_ids:
        return {}
    users = dict(
        ShopUser.objects.filter(client=client, external_id__in=external_ids).values_list(
            "external_id", "id"
        )
    )
    missing = sorted(external_ids - set(users))
    if missing:
        ShopUser.objects.bulk_create(
            [ShopUser(client=client, external_id=external_id) for external_id in missing],
            ignore_conflicts=True,  # another batch may create the same user meanwhile
        )
        users.update(
            ShopUser.objects.filter(client=client, external_id__in=missing).values_list(
                "external_id", "id"
            )
        )
    return users

"""Catalogue writes: bulk upsert with a result per row, removal, availability.

Every change is committed first; after the commit the client's catalogue stamp moves (so
cached id lists and popular lists are rebuilt) and changed texts are queued for re-embedding.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from apps.recommender.exceptions import ItemNotFound
from apps.recommender.models import Item, ShopClient
from apps.recommender.selectors import catalog_stamp_bump
from apps.recommender.services.batches import (
    BatchResult,
    RowResult,
    batch_size_check,
    row_external_id,
    serializer_errors,
)
from apps.recommender.services.item_index import item_index_sync_on_commit

log = logging.getLogger(__name__)

TEXT_FIELDS = ("title", "description", "tags", "category")
ITEM_FIELDS = (*TEXT_FIELDS, "price", "available")


@extend_schema_serializer(component_name="RecommenderItemRow")
class ItemRowSerializer(serializers.Serializer):
    """One catalogue row. A new item needs a title; an update may send only what changes."""

    external_id = serializers.CharField(max_length=200)
    title = serializers.CharField(max_length=500, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=100
    )
    category = serializers.CharField(max_length=200, required=False, allow_blank=True)
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, min_value=Decimal(0), required=False, allow_null=True
    )
    available = serializers.BooleanField(required=False)


def _changes(item: Item, data: dict[str, Any]) -> list[str]:
    changed = [name for name in ITEM_FIELDS if name in data and getattr(item, name) != data[name]]
    if item.removed:
        changed.append("removed")
    return changed


@transaction.atomic
def items_upsert(*, client: ShopClient, rows: Sequence[Any]) -> BatchResult:
    """Create or update items by external id; bad rows get errors, the others are saved.

    Concurrent batches creating the same id do not fail: new rows go in with
    INSERT ... ON CONFLICT DO UPDATE, so the later one updates what the first created.
    """
    batch_size_check(rows)
    results: list[RowResult] = []
    valid: dict[str, tuple[RowResult, dict[str, Any]]] = {}
    for index, row in enumerate(rows):
        result = RowResult(index=index, external_id=row_external_id(row, "external_id"), status="")
        results.append(result)
        serializer = ItemRowSerializer(data=row)
        if not serializer.is_valid():
            result.status, result.errors = "error", serializer_errors(serializer.errors)
            continue
        data = dict(serializer.validated_data)
        external_id = data.pop("external_id")
        if external_id in valid:
            result.status = "error"
            result.errors = {"external_id": [f"{external_id!r} appears twice in this batch"]}
            continue
        valid[external_id] = (result, data)

    existing = {
        item.external_id: item
        for item in Item.objects.select_for_update().filter(
            client=client, external_id__in=list(valid)
        )
    }
    now = timezone.now()
    new_items: list[Item] = []
    updated_items: list[Item] = []
    updated_fields: set[str] = set()
    reembed: list[Item] = []
    for external_id, (result, data) in valid.items():
        item = existing.get(external_id)
        if item is None:
            if not data.get("title"):
                result.status = "error"
                result.errors = {"title": ["required for a new item"]}
                continue
            new_items.append(
                Item(client=client, external_id=external_id, created_at=now, updated_at=now, **data)
            )
            result.status = "created"
            continue
        changed = _changes(item, data)
        if not changed:
            result.status = "unchanged"
            continue
        for name in changed:
            setattr(item, name, False if name == "removed" else data[name])
        item.updated_at = now
        updated_items.append(item)
        updated_fields.update(changed)
        if "removed" in changed or set(changed) & set(TEXT_FIELDS):
            reembed.append(item)
        result.status = "updated"

    if new_items:
        Item.objects.bulk_create(
            new_items,
            update_conflicts=True,
            unique_fields=["client", "external_id"],
            update_fields=[*ITEM_FIELDS, "removed", "updated_at"],
        )
    if updated_items:
        Item.objects.bulk_update(updated_items, [*sorted(updated_fields), "updated_at"])
    if new_items or updated_items:
        transaction.on_commit(lambda: catalog_stamp_bump(client_id=client.id))
        item_index_sync_on_commit(item_ids=[item.id for item in [*new_items, *reembed]])
    batch = BatchResult(results=results)
    log.info(
        "items upserted client=%s created=%d updated=%d failed=%d",
        client.id,
        batch.count("created"),
        batch.count("updated"),
        batch.count("error"),
    )
    return batch


@transaction.atomic
def item_remove(*, client: ShopClient, external_id: str) -> Item:
    """Mark the item removed (its events stay); it leaves every result after the commit."""
    item = (
        Item.objects.select_for_update()
        .filter(client=client, external_id=external_id, removed=False)
        .first()
    )
    if item is None:
        raise ItemNotFound(external_id=external_id)
    item.removed = True
    item.save(update_fields=["removed", "updated_at"])
    transaction.on_commit(lambda: catalog_stamp_bump(client_id=client.id))
    item_index_sync_on_commit(item_ids=[item.id])  # the source no longer yields it: removed
    return item


@transaction.atomic
def items_availability_set(*, item_ids: Sequence[int], available: bool) -> int:
    """Admin's toggle: takes effect at the next request (no re-embedding needed)."""
    rows = Item.objects.filter(id__in=list(item_ids)).exclude(available=available)
    client_ids = set(rows.values_list("client_id", flat=True))
    changed = rows.update(available=available, updated_at=timezone.now())
    for client_id in client_ids:
        transaction.on_commit(lambda client_id=client_id: catalog_stamp_bump(client_id=client_id))
    return changed


def item_changed(*, item: Item, text_changed: bool) -> None:
    """After an edit outside the API (admin): caches follow, a new text is re-embedded."""
    transaction.on_commit(lambda: catalog_stamp_bump(client_id=item.client_id))
    if text_changed:
        item_index_sync_on_commit(item_ids=[item.id])

"""Admin: shop clients (keys shown once, rotation, co-occurrence refresh), items, events.

Edges only: availability goes through `items_availability_set` (so caches follow at once), the
co-occurrence refresh is the same task the beat schedule runs.
"""

from __future__ import annotations

import secrets

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from apps.core.api_keys import KEY_PREFIX_LENGTH, api_key_hash
from apps.recommender.models import Event, Item, ShopClient
from apps.recommender.services import (
    ITEM_INDEX,
    cooccurrence_status,
    cooccurrence_status_set,
    items_availability_set,
)
from apps.recommender.services.catalog import TEXT_FIELDS, item_changed
from apps.recommender.tasks.catalog import refresh_cooccurrence
from ml.registry.indexes import index_status


def _key_message(client: ShopClient, key: str) -> str:
    return format_html(
        "API key for <b>{}</b>: <code>{}</code> (copy it now: it is stored hashed and is not "
        "shown again)",
        client.name,
        key,
    )


@admin.register(ShopClient)
class ShopClientAdmin(admin.ModelAdmin):
    list_display = ("name", "key_prefix", "active", "items", "last_used_at", "cooccurrence")
    list_filter = ("active",)
    search_fields = ("name", "key_prefix")
    fields = ("name", "active", "key_prefix", "created_at", "last_used_at", "cooccurrence")
    readonly_fields = ("key_prefix", "created_at", "last_used_at", "cooccurrence")
    actions = ("rotate_keys", "refresh_cooccurrence_now")

    @admin.display(description="items")
    def items(self, obj: ShopClient) -> int:
        return obj.items.filter(removed=False).count()

    @admin.display(description="co-occurrence")
    def cooccurrence(self, obj: ShopClient) -> str:
        status = cooccurrence_status(client_id=obj.id) if obj.pk else None
        if status is None:
            return "never computed"
        if status.state == "done":
            return (
                f"done {status.updated_at[:19]}: {status.items} items, {status.users} users, "
                f"{status.events} events in {status.seconds} s"
            )
        if status.state == "failed":
            return f"failed {status.updated_at[:19]}: {status.error}"
        return f"{status.state} since {status.updated_at[:19]}"

    def save_model(self, request: HttpRequest, obj: ShopClient, form, change: bool) -> None:  # noqa: ANN001
        if change:
            super().save_model(request, obj, form, change)
            return
        key = secrets.token_urlsafe(32)
        obj.key_prefix, obj.key_hash = key[:KEY_PREFIX_LENGTH], api_key_hash(key)
        super().save_model(request, obj, form, change)
        self.message_user(request, _key_message(obj, key), messages.WARNING)

    @admin.action(description="Rotate the API key (the old one stops working now)")
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[ShopClient]) -> None:
        for client in queryset:
            self.message_user(request, _key_message(client, client.rotate_key()), messages.WARNING)

    @admin.action(description="Refresh co-occurrence now")
    def refresh_cooccurrence_now(
        self, request: HttpRequest, queryset: QuerySet[ShopClient]
    ) -> None:
        for client in queryset:
            cooccurrence_status_set(client_id=client.id, state="queued")
            refresh_cooccurrence.delay(client.id)
        self.message_user(
            request, f"Co-occurrence refresh queued for {queryset.count()} client(s)."
        )


@admin.register(Item)
class ItemAdmin(admin.ModelAdmin):
    list_display = ("title", "external_id", "client", "category", "price", "available", "removed")
    list_filter = ("available", "removed", "client", "category")
    search_fields = ("title", "external_id", "description", "category")
    list_select_related = ("client",)
    readonly_fields = ("client", "external_id", "removed", "created_at", "updated_at")
    fields = (
        "client",
        "external_id",
        "title",
        "description",
        "tags",
        "category",
        "price",
        "available",
        "removed",
        "created_at",
        "updated_at",
    )
    actions = ("make_available", "make_unavailable")
    show_full_result_count = False  # COUNT(*) over a large catalogue on every page

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # items come from the shop's catalogue feed (the API)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):  # noqa: ANN201
        status = index_status(name=ITEM_INDEX)
        note = f"Item index: {status.vectors} vectors, version {status.version}"
        if status.problem:
            note += f" ({status.problem})"
        self.message_user(request, note, messages.INFO)
        return super().changelist_view(request, extra_context)

    def save_model(self, request: HttpRequest, obj: Item, form, change: bool) -> None:  # noqa: ANN001
        super().save_model(request, obj, form, change)
        item_changed(item=obj, text_changed=bool(set(form.changed_data) & set(TEXT_FIELDS)))

    @admin.action(description="Make available (recommendable at once)")
    def make_available(self, request: HttpRequest, queryset: QuerySet[Item]) -> None:
        changed = items_availability_set(
            item_ids=list(queryset.values_list("id", flat=True)), available=True
        )
        self.message_user(request, f"{changed} item(s) made available.")

    @admin.action(description="Make unavailable (leaves recommendations at once)")
    def make_unavailable(self, request: HttpRequest, queryset: QuerySet[Item]) -> None:
        changed = items_availability_set(
            item_ids=list(queryset.values_list("id", flat=True)), available=False
        )
        self.message_user(request, f"{changed} item(s) made unavailable.")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Read-only: events are the shops' record of what happened."""

    list_display = ("occurred_at", "type", "user", "item", "value", "client", "external_id")
    list_filter = ("type", "client")
    search_fields = ("external_id", "user__external_id", "item__external_id", "item__title")
    list_select_related = ("user", "item", "client")
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Event | None = None) -> bool:
        return False

"""A shop's catalogue and what its users did. Every row belongs to one client (tenant)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.api_keys import ApiKeyBase


class ShopClient(ApiKeyBase):
    """A front-end with its own key; it sees only its own items and users."""

    class Meta(ApiKeyBase.Meta):
        abstract = False


class Item(models.Model):
    """A product. Its id is its vector id in the shared item index (filtered by client)."""

    client = models.ForeignKey(ShopClient, on_delete=models.CASCADE, related_name="items")
    external_id = models.CharField(max_length=200)
    title = models.CharField(max_length=500)
    description = models.TextField(blank=True)
    tags = models.JSONField(default=list, blank=True)
    category = models.CharField(max_length=200, blank=True, db_index=True)
    price = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    available = models.BooleanField(default=True, db_index=True)
    removed = models.BooleanField(default=False, help_text="Deleted by the client; kept for events")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "external_id"], name="recommender_item_external_id_unique"
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def recommendable(self) -> bool:
        return self.available and not self.removed

    def text(self) -> str:
        """What the encoder reads: title, tags, category and description."""
        parts = [self.title, " ".join(str(tag) for tag in self.tags), self.category]
        parts.append(self.description)
        return ". ".join(part for part in parts if part)


class ShopUser(models.Model):
    """A shop's end user, known only by the shop's id for them."""

    client = models.ForeignKey(ShopClient, on_delete=models.CASCADE, related_name="users")
    external_id = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["client", "external_id"], name="recommender_user_external_id_unique"
            )
        ]

    def __str__(self) -> str:
        return self.external_id


class EventType(models.TextChoices):
    VIEW = "view"
    CLICK = "click"
    ADD_TO_CART = "add_to_cart", "add to cart"
    PURCHASE = "purchase"
    RATING = "rating"


class Event(models.Model):
    client = models.ForeignKey(ShopClient, on_delete=models.CASCADE, related_name="events")
    external_id = models.CharField(max_length=200, help_text="The client's event id (idempotency)")
    user = models.ForeignKey(ShopUser, on_delete=models.CASCADE, related_name="events")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=20, choices=EventType.choices)
    value = models.FloatField(null=True, blank=True, help_text="Rating value, quantity, ...")
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["client", "external_id"], name="recommender_event_external_id_unique"
            ),
            models.CheckConstraint(
                condition=Q(type__in=[choice for choice, _ in EventType.choices]),
                name="recommender_event_type_valid",
            ),
        ]
        indexes = [
            models.Index(fields=["user", "occurred_at"]),
            models.Index(fields=["client", "occurred_at"]),
            models.Index(fields=["item", "occurred_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.type} {self.item_id}"

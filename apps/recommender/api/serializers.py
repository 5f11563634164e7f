"""Request and response shapes of the client API (what the OpenAPI docs show)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from apps.recommender.services import EXCLUDE_CHOICES, EventRowSerializer, ItemRowSerializer


class ItemsUpsertInput(serializers.Serializer):
    """Rows are validated one by one (a bad row does not fail the batch), so any JSON goes in."""

    items = serializers.ListField(child=serializers.JSONField())


@extend_schema_serializer(component_name="RecommenderItemsUpsert")
class ItemsUpsertDoc(serializers.Serializer):
    items = ItemRowSerializer(many=True)


class EventsIngestInput(serializers.Serializer):
    events = serializers.ListField(child=serializers.JSONField())


@extend_schema_serializer(component_name="RecommenderEventsIngest")
class EventsIngestDoc(serializers.Serializer):
    events = EventRowSerializer(many=True)


@extend_schema_serializer(component_name="RecommenderRowResult")
class RowResultOutput(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in the request")
    external_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(
        choices=["created", "updated", "unchanged", "duplicate", "error"]
    )
    errors = serializers.DictField(help_text="Field -> messages; empty unless status is error")


@extend_schema_serializer(component_name="RecommenderItemsUpsertResult")
class ItemsUpsertOutput(serializers.Serializer):
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = RowResultOutput(many=True)


@extend_schema_serializer(component_name="RecommenderEventsIngestResult")
class EventsIngestOutput(serializers.Serializer):
    created = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = RowResultOutput(many=True)


class RecommendationsQuery(serializers.Serializer):
    k = serializers.IntegerField(min_value=1, max_value=100, default=10)
    category = serializers.CharField(required=False, allow_blank=True, max_length=200)
    exclude = serializers.ChoiceField(
        choices=EXCLUDE_CHOICES,
        default="seen",
        help_text="Leave out items the user has seen, has purchased, or nothing",
    )
    context_item = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text="External id of the item on screen (a product page): its neighbours first",
    )


class SimilarQuery(serializers.Serializer):
    k = serializers.IntegerField(min_value=1, max_value=100, default=10)
    category = serializers.CharField(required=False, allow_blank=True, max_length=200)


class PopularQuery(serializers.Serializer):
    k = serializers.IntegerField(min_value=1, max_value=100, default=10)
    category = serializers.CharField(required=False, allow_blank=True, max_length=200)
    window_hours = serializers.IntegerField(
        min_value=1, max_value=24 * 365, required=False, help_text="Default 168 (a week)"
    )


@extend_schema_serializer(component_name="RecommenderItem")
class RecommendedItemOutput(serializers.Serializer):
    item_id = serializers.CharField(help_text="The item's external id")
    title = serializers.CharField()
    category = serializers.CharField()
    score = serializers.FloatField()
    reason = serializers.CharField(help_text='e.g. similar to "Trail shoe" you viewed')
    source = serializers.ChoiceField(
        choices=["similar", "context", "cooccurrence", "popular", "new"]
    )


@extend_schema_serializer(component_name="RecommenderList")
class RecommendationsOutput(serializers.Serializer):
    items = RecommendedItemOutput(many=True)
    model_version = serializers.CharField(
        allow_null=True, help_text='"recommender.next_item v3"; null: no model ranked these'
    )
    request_id = serializers.CharField(help_text="Send it back with clicks to attribute them")
    variant = serializers.CharField(allow_null=True, help_text="The user's experiment variant")


def recommendations_body(result: object) -> dict:
    """The response body of every read endpoint (a RecommendationList)."""
    return {
        "items": [
            {
                "item_id": ranked.item.external_id,
                "title": ranked.item.title,
                "category": ranked.item.category,
                "score": ranked.score,
                "reason": ranked.reason,
                "source": ranked.source,
            }
            for ranked in result.items  # type: ignore[attr-defined]
        ],
        "model_version": result.model_version,  # type: ignore[attr-defined]
        "request_id": result.request_id,  # type: ignore[attr-defined]
        "variant": result.variant,  # type: ignore[attr-defined]
    }


ITEMS_EXAMPLE = OpenApiExample(
    "Two products",
    request_only=True,
    value={
        "items": [
            {
                "external_id": "sku-123",
                "title": "Trail running shoe",
                "description": "Light shoe with a grippy sole for muddy trails.",
                "tags": ["running", "trail"],
                "category": "shoes",
                "price": "89.90",
                "available": True,
            },
            {"external_id": "sku-77", "available": False},
        ]
    },
)
ITEMS_RESULT_EXAMPLE = OpenApiExample(
    "One created, one with an error",
    response_only=True,
    value={
        "created": 1,
        "updated": 0,
        "unchanged": 0,
        "failed": 1,
        "results": [
            {"index": 0, "external_id": "sku-123", "status": "created", "errors": {}},
            {
                "index": 1,
                "external_id": "sku-77",
                "status": "error",
                "errors": {"title": ["required for a new item"]},
            },
        ],
    },
)
EVENTS_EXAMPLE = OpenApiExample(
    "A view and a purchase",
    request_only=True,
    value={
        "events": [
            {
                "event_id": "e-1001",
                "user_id": "u-42",
                "item_id": "sku-123",
                "type": "view",
                "timestamp": "2026-12-06T10:15:00Z",
            },
            {
                "event_id": "e-1002",
                "user_id": "u-42",
                "item_id": "sku-123",
                "type": "purchase",
                "value": 1,
                "timestamp": "2026-12-06T10:17:30Z",
            },
        ]
    },
)
RECOMMENDATIONS_EXAMPLE = OpenApiExample(
    "For you",
    response_only=True,
    value={
        "items": [
            {
                "item_id": "sku-140",
                "title": "Trail running socks",
                "category": "socks",
                "score": 0.83,
                "reason": 'often bought with "Trail running shoe"',
                "source": "cooccurrence",
            },
            {
                "item_id": "sku-131",
                "title": "Waterproof trail shoe",
                "category": "shoes",
                "score": 0.71,
                "reason": 'similar to "Trail running shoe" you viewed',
                "source": "similar",
            },
        ],
        "model_version": "recommender.next_item v3",
        "request_id": "8f0c6d1e2b3a4c5d9e8f7a6b5c4d3e2f",
        "variant": "ranked",
    },
)

"""Thin views: parse, call a service, shape the answer. Every one is scoped to the key's shop."""

from __future__ import annotations

import time
from typing import Any

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.recommender import services
from apps.recommender.api import serializers as api
from apps.recommender.auth import IsShopClient, ShopClientKeyAuthentication

ERRORS = {
    400: OpenApiResponse(description='Invalid request: {"error": {"code", "message", "fields"}}'),
    401: OpenApiResponse(description="No or unknown X-Api-Key"),
}


class ShopApi(APIView):
    """Authenticated by the shop's key; answers carry the time the app spent on them."""

    authentication_classes = [ShopClientKeyAuthentication]
    permission_classes = [IsShopClient]

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        response = super().dispatch(request, *args, **kwargs)
        elapsed_ms = (time.perf_counter() - started) * 1000
        response["Server-Timing"] = f"app;dur={elapsed_ms:.1f}"
        response["X-Response-Time-Ms"] = f"{elapsed_ms:.1f}"
        return response

    @staticmethod
    def query(serializer_class: type, request: Request) -> dict[str, Any]:
        query = serializer_class(data=request.query_params)
        query.is_valid(raise_exception=True)
        return dict(query.validated_data)


def batch_body(batch: services.BatchResult, counts: tuple[str, ...]) -> dict[str, Any]:
    body: dict[str, Any] = {name: batch.count(name) for name in counts}
    body["failed"] = batch.count("error")
    body["results"] = [
        {"index": r.index, "external_id": r.external_id, "status": r.status, "errors": r.errors}
        for r in batch.results
    ]
    return body


class ItemsUpsertApi(ShopApi):
    @extend_schema(
        operation_id="recommender_items_upsert",
        summary="Create or update catalogue items",
        description=(
            "Upsert by `external_id`. A new item needs a `title`; an update may send only the "
            "fields that change (e.g. `available`). Each row gets a result; bad rows do not "
            "stop the good ones. At most RECOMMENDER_MAX_BATCH_ROWS (1000) rows per request."
        ),
        request=api.ItemsUpsertDoc,
        responses={200: api.ItemsUpsertOutput, **ERRORS},
        examples=[api.ITEMS_EXAMPLE, api.ITEMS_RESULT_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        data = api.ItemsUpsertInput(data=request.data)
        data.is_valid(raise_exception=True)
        batch = services.items_upsert(client=request.auth, rows=data.validated_data["items"])
        return Response(batch_body(batch, ("created", "updated", "unchanged")))


class ItemDeleteApi(ShopApi):
    @extend_schema(
        operation_id="recommender_items_delete",
        summary="Remove an item",
        description="It leaves every recommendation at once; its past events are kept.",
        responses={204: None, 404: OpenApiResponse(description="No such item"), **ERRORS},
    )
    def delete(self, request: Request, external_id: str) -> Response:
        services.item_remove(client=request.auth, external_id=external_id)
        return Response(status=204)


class EventsIngestApi(ShopApi):
    @extend_schema(
        operation_id="recommender_events_ingest",
        summary="Record what users did",
        description=(
            "Idempotent by `event_id`: a resent event answers `duplicate`. Unknown item, "
            "unknown type, a timestamp in the future or a bad value fail that row only. "
            "Users are created the first time they appear."
        ),
        request=api.EventsIngestDoc,
        responses={200: api.EventsIngestOutput, **ERRORS},
        examples=[api.EVENTS_EXAMPLE],
    )
    def post(self, request: Request) -> Response:
        data = api.EventsIngestInput(data=request.data)
        data.is_valid(raise_exception=True)
        batch = services.events_ingest(
            client=request.auth, rows=data.validated_data["events"], now=timezone.now()
        )
        return Response(batch_body(batch, ("created", "duplicate")))


READ_RESPONSES = {200: api.RecommendationsOutput, **ERRORS}


class UserRecommendationsApi(ShopApi):
    @extend_schema(
        operation_id="recommender_user_recommendations",
        summary="Recommendations for a user",
        description=(
            "Ranked, de-duplicated items with a reason each. A user never seen before gets "
            "popular items (and the context item's neighbours). Latency in `Server-Timing` and "
            "`X-Response-Time-Ms`."
        ),
        parameters=[api.RecommendationsQuery],
        responses=READ_RESPONSES,
        examples=[api.RECOMMENDATIONS_EXAMPLE],
    )
    def get(self, request: Request, user_id: str) -> Response:
        query = self.query(api.RecommendationsQuery, request)
        result = services.recommendations_for_user(
            client=request.auth,
            user_external_id=user_id,
            k=query["k"],
            category=query.get("category"),
            exclude=query["exclude"],
            context_item=query.get("context_item"),
            now=timezone.now(),
        )
        return Response(api.recommendations_body(result))


class ItemSimilarApi(ShopApi):
    @extend_schema(
        operation_id="recommender_item_similar",
        summary="Items similar to an item",
        description="Text neighbours (a new item has them as soon as it is indexed) and items "
        "often bought or viewed with it.",
        parameters=[
            api.SimilarQuery,
            OpenApiParameter("external_id", str, OpenApiParameter.PATH),
        ],
        responses={**READ_RESPONSES, 404: OpenApiResponse(description="No such item")},
    )
    def get(self, request: Request, external_id: str) -> Response:
        query = self.query(api.SimilarQuery, request)
        result = services.similar_items(
            client=request.auth,
            external_id=external_id,
            k=query["k"],
            category=query.get("category"),
            now=timezone.now(),
        )
        return Response(api.recommendations_body(result))


class PopularApi(ShopApi):
    @extend_schema(
        operation_id="recommender_popular",
        summary="Popular items",
        description="Most interacted-with items in the window (purchases weigh most).",
        parameters=[api.PopularQuery],
        responses=READ_RESPONSES,
    )
    def get(self, request: Request) -> Response:
        query = self.query(api.PopularQuery, request)
        result = services.popular_list(
            client=request.auth,
            k=query["k"],
            category=query.get("category"),
            window_hours=query.get("window_hours"),
            now=timezone.now(),
        )
        return Response(api.recommendations_body(result))

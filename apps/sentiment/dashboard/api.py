"""JSON for the dashboard and the labelling queue; session auth, analysts only.

Thin edges: parse the query or body with a serializer, call a selector or service, shape JSON.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.sentiment import labelling, selectors
from apps.sentiment.access import IsAnalyst
from apps.sentiment.models import Sentiment, Topic


class TimelineQuerySerializer(serializers.Serializer):
    range = serializers.ChoiceField(
        choices=list(selectors.TIME_RANGES), default=selectors.DEFAULT_RANGE
    )
    source = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class TopicOverviewApi(APIView):
    """Every active topic: articles in the last hour, negative share vs baseline, firing alerts."""

    permission_classes = [IsAnalyst]

    @extend_schema(tags=["sentiment dashboard"], responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response({"topics": [s.to_dict() for s in selectors.topics_overview()]})


class TopicTimelineApi(APIView):
    """Stacked sentiment counts per bucket, negative share, alert markers, negative headlines."""

    permission_classes = [IsAnalyst]

    @extend_schema(
        tags=["sentiment dashboard"],
        parameters=[TimelineQuerySerializer],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, slug: str) -> Response:
        query = TimelineQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        topic = get_object_or_404(Topic, slug=slug)
        page = selectors.topic_page(
            topic=topic,
            range_key=query.validated_data["range"],
            source=query.validated_data["source"],
        )
        return Response(page.to_dict())


class LabellingQueueQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=50, default=5)
    exclude = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, default=list
    )


class LabellingQueueApi(APIView):
    """The next unlabelled articles, least confident first."""

    permission_classes = [IsAnalyst]

    @extend_schema(
        tags=["sentiment labelling"],
        parameters=[LabellingQueueQuerySerializer],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request) -> Response:
        query = LabellingQueueQuerySerializer(
            data={
                "limit": request.query_params.get("limit", 5),
                "exclude": request.query_params.getlist("exclude"),
            }
        )
        query.is_valid(raise_exception=True)
        items = labelling.labelling_queue(
            limit=query.validated_data["limit"], exclude_ids=query.validated_data["exclude"]
        )
        return Response(
            {
                "items": [i.to_dict() for i in items],
                "progress": labelling.labelling_progress().to_dict(),
            }
        )


class ArticleLabelCreateApi(APIView):
    """Store an analyst's label (a repeat corrects it); answers whether it disagrees."""

    permission_classes = [IsAnalyst]

    class InputSerializer(serializers.Serializer):
        article = serializers.IntegerField(min_value=1)
        label = serializers.ChoiceField(choices=Sentiment.values)
        held_out = serializers.BooleanField(default=False)

    @extend_schema(
        tags=["sentiment labelling"], request=InputSerializer, responses={201: OpenApiTypes.OBJECT}
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        record = labelling.article_label_record(
            article_id=data.validated_data["article"],
            label=data.validated_data["label"],
            held_out=data.validated_data["held_out"],
            user=request.user,
        )
        return Response(
            {
                "id": record.id,
                "article": record.article_id,
                "label": record.label,
                "model_label": record.model_label,
                "disagrees": bool(record.model_label) and record.model_label != record.label,
                "held_out": record.held_out,
                "progress": labelling.labelling_progress().to_dict(),
            },
            status=201,
        )

"""Push API: clients send batches of articles with their own key; each row gets a result."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api_keys import ApiKeyAuthentication
from apps.sentiment.ingest.rows import ArticleRowSerializer
from apps.sentiment.ingest.services import IngestReport, articles_ingest
from apps.sentiment.models import IngestClient


class IngestClientKeyAuthentication(ApiKeyAuthentication):
    """`X-Api-Key: <key>` of an active IngestClient (made in admin, shown once)."""

    model = IngestClient
    header = "X-Api-Key"


@extend_schema_field(ArticleRowSerializer(many=True))
class ArticleRowsField(serializers.ListField):
    """Rows are checked one by one by the ingest service, so a bad row cannot sink the batch."""

    child = serializers.JSONField(allow_null=True)

    def to_internal_value(self, data: object) -> list:
        rows = super().to_internal_value(data)
        limit = settings.SENTIMENT_PUSH_MAX_BATCH
        if len(rows) > limit:
            raise serializers.ValidationError(
                f"{len(rows)} articles in one request; send at most {limit} per request"
            )
        return rows


@extend_schema_serializer(component_name="SentimentArticleRowResult")
class ArticleRowResultSerializer(serializers.Serializer):
    index = serializers.IntegerField(help_text="Position of the row in `articles`")
    id = serializers.CharField(help_text="The row's `id` as sent")
    status = serializers.ChoiceField(choices=["created", "duplicate", "error"])
    article_id = serializers.IntegerField(
        allow_null=True, help_text="The stored article (the earlier one for a duplicate)"
    )
    duplicate_of = serializers.ChoiceField(
        choices=["", "external_id", "canonical_url", "content_hash"],
        help_text="Which identity matched a stored article",
    )
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Field name -> messages, for rows with status error",
    )


@extend_schema_serializer(component_name="SentimentArticlesPushOutput")
class ArticlesPushOutputSerializer(serializers.Serializer):
    created = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    failed = serializers.IntegerField()
    results = ArticleRowResultSerializer(many=True)


def report_as_json(report: IngestReport) -> dict:
    return {
        "created": report.created,
        "duplicates": report.duplicates,
        "failed": report.failed,
        "results": [
            {
                "index": r.index,
                "id": r.external_id,
                "status": r.status,
                "article_id": r.article_id,
                "duplicate_of": r.duplicate_of,
                "errors": r.errors,
            }
            for r in report.results
        ],
    }


class ArticlesPushApi(APIView):
    authentication_classes = [IngestClientKeyAuthentication]
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="SentimentArticlesPushInput")
    class InputSerializer(serializers.Serializer):
        articles = ArticleRowsField(allow_empty=False)

    @extend_schema(
        operation_id="sentiment_articles_push",
        summary="Push a batch of articles",
        description=(
            "Stores each new article once. A row sent again (same `id` from the same client, "
            "same canonical URL, or the same normalised title and body) is reported as "
            "`duplicate` and changes nothing. A bad row gets `status: error` with field "
            "errors while the good rows of the batch are stored. At most "
            "SENTIMENT_PUSH_MAX_BATCH (default 500) rows per request."
        ),
        request=InputSerializer,
        responses={200: ArticlesPushOutputSerializer},
        examples=[
            OpenApiExample(
                "One article",
                request_only=True,
                value={
                    "articles": [
                        {
                            "id": "wire-20260612-0042",
                            "title": "Acme Corp cuts full-year guidance",
                            "body": "Acme Corp lowered its outlook after weak orders.",
                            "url": "https://news.example.com/acme-guidance",
                            "source": "Example Wire",
                            "published_at": "2026-06-12T09:30:00Z",
                            "language": "en",
                        }
                    ]
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        report = articles_ingest(data.validated_data["articles"], client=request.auth)
        return Response(report_as_json(report))

"""The push API is in the OpenAPI schema: its row fields, results and the X-Api-Key scheme."""

from __future__ import annotations

import pytest
from django.urls import path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

from apps.sentiment.ingest.api import ArticlesPushApi

pytestmark = pytest.mark.django_db


def test_schema_documents_the_push_endpoint(client) -> None:  # noqa: ANN001
    response = client.get("/api/schema/", {"format": "json"})

    assert response.status_code == 200
    schema = response.json()
    operation = schema["paths"]["/api/sentiment/articles/"]["post"]
    assert operation["operationId"] == "sentiment_articles_push"
    assert operation["security"] == [{"IngestClientKeyAuthentication": []}]
    assert list(operation["requestBody"]["content"]) == ["application/json"]
    components = schema["components"]
    assert components["securitySchemes"]["IngestClientKeyAuthentication"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
    }
    row = components["schemas"]["SentimentArticleRow"]
    assert set(row["required"]) == {"title", "published_at"}
    assert {"id", "title", "body", "url", "source", "published_at", "language"} <= set(
        row["properties"]
    )
    result = components["schemas"]["SentimentArticleRowResult"]["properties"]
    assert {"index", "id", "status", "article_id", "errors"} <= set(result)


def test_push_endpoint_documents_without_warnings_or_errors() -> None:
    # Only this endpoint: any drf-spectacular warning or error (an undocumentable field, a
    # guessed serializer) would show in a client's generated code, so it fails here.
    GENERATOR_STATS.reset()
    generator = SchemaGenerator(
        patterns=[path("api/sentiment/articles/", ArticlesPushApi.as_view())]
    )
    schema = generator.get_schema(request=None, public=True)

    assert not GENERATOR_STATS, dict(GENERATOR_STATS._warn_cache | GENERATOR_STATS._error_cache)
    assert list(schema["paths"]) == ["/api/sentiment/articles/"]

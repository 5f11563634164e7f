"""The push API is in the OpenAPI schema: its row fields, results and the X-Api-Key scheme."""

from __future__ import annotations

import pytest
from django.core.management import call_command

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


def test_schema_generation_has_no_warnings(tmp_path) -> None:  # noqa: ANN001
    # --fail-on-warn turns any drf-spectacular warning (e.g. an undocumentable field) into an
    # error, so a view that cannot be documented fails here instead of in a client's codegen.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml")
    )
    assert "/api/sentiment/articles/" in (tmp_path / "schema.yaml").read_text()

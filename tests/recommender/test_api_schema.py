"""The client API is in the OpenAPI schema (what a front-end developer reads at /api/docs/)."""

from __future__ import annotations

import pytest
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator

pytestmark = pytest.mark.django_db

PATHS = {
    "/api/recommender/items/": "post",
    "/api/recommender/items/{external_id}/": "delete",
    "/api/recommender/items/{external_id}/similar/": "get",
    "/api/recommender/events/": "post",
    "/api/recommender/users/{user_id}/recommendations/": "get",
    "/api/recommender/popular/": "get",
}


def test_every_endpoint_is_documented_with_the_key_scheme(client) -> None:  # noqa: ANN001
    schema = client.get("/api/schema/", {"format": "json"}).json()
    for route, method in PATHS.items():
        operation = schema["paths"][route][method]
        assert operation["security"] == [{"ShopClientKeyAuthentication": []}], route
        assert operation["summary"], route
    assert schema["components"]["securitySchemes"]["ShopClientKeyAuthentication"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-Api-Key",
    }
    components = schema["components"]["schemas"]
    assert set(components["RecommenderItemRow"]["required"]) == {"external_id"}
    assert {"event_id", "user_id", "item_id", "type", "timestamp"} == set(
        components["RecommenderEventRow"]["required"]
    )
    assert set(components["RecommenderItem"]["properties"]) == {
        "item_id", "title", "category", "score", "reason", "source"
    }  # fmt: skip
    recommendations = schema["paths"]["/api/recommender/users/{user_id}/recommendations/"]["get"]
    assert {p["name"] for p in recommendations["parameters"]} >= {
        "k", "category", "exclude", "context_item", "user_id"
    }  # fmt: skip
    upsert = schema["paths"]["/api/recommender/items/"]["post"]
    assert "examples" in upsert["requestBody"]["content"]["application/json"]


def test_the_recommender_api_documents_without_warnings() -> None:
    from apps.recommender import api_urls

    GENERATOR_STATS.reset()
    generator = SchemaGenerator(patterns=api_urls.urlpatterns)
    schema = generator.get_schema(request=None, public=True)
    assert not GENERATOR_STATS, dict(GENERATOR_STATS._warn_cache | GENERATOR_STATS._error_cache)
    assert len(schema["paths"]) == len(PATHS)

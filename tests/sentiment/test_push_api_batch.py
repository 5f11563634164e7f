"""POST /api/sentiment/articles/: per-row results, idempotent by the client's id, 4xx bodies."""

from __future__ import annotations

import pytest

from apps.sentiment.models import Article
from tests.sentiment.ingest_fixtures import (  # noqa: F401 (fixtures)
    PUSH_URL,
    article_row,
    ingest_client_and_key,
    push_client,
)

pytestmark = pytest.mark.django_db


def test_good_rows_land_and_bad_rows_get_field_errors(push_client) -> None:  # noqa: ANN001, F811
    rows = [article_row(1), article_row(2, published_at="not a time"), article_row(3, title="")]

    response = push_client.post(PUSH_URL, {"articles": rows}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["created"], body["duplicates"], body["failed"]) == (1, 0, 2)
    assert [(r["index"], r["id"], r["status"]) for r in body["results"]] == [
        (0, "wire-1", "created"),
        (1, "wire-2", "error"),
        (2, "wire-3", "error"),
    ]
    assert list(body["results"][1]["errors"]) == ["published_at"]
    assert list(body["results"][2]["errors"]) == ["title"]
    stored = Article.objects.get()
    assert body["results"][0]["article_id"] == stored.id
    assert (stored.external_id, stored.source_name, stored.canonical_url) == (
        "wire-1",
        "Example Wire",
        "https://news.example.com/markets/story-1",
    )


def test_sending_the_same_batch_again_is_a_no_op(push_client) -> None:  # noqa: ANN001, F811
    rows = [article_row(n) for n in range(5)]
    first = push_client.post(PUSH_URL, {"articles": rows}, format="json").json()
    stored = list(Article.objects.values_list("id", "title", "fetched_at"))

    again = push_client.post(PUSH_URL, {"articles": rows}, format="json").json()

    assert (again["created"], again["duplicates"]) == (0, 5)
    assert [r["article_id"] for r in again["results"]] == [
        r["article_id"] for r in first["results"]
    ]
    assert {r["duplicate_of"] for r in again["results"]} == {"external_id"}
    assert list(Article.objects.values_list("id", "title", "fetched_at")) == stored


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        ('{"articles": [', "application/json"),  # cut off
        ("[1, 2, 3]", "application/json"),  # not an object
        ("{}", "application/json"),
        ('{"articles": "many"}', "application/json"),
        ('{"articles": []}', "application/json"),
        ("articles=1", "application/x-www-form-urlencoded"),
    ],
)
def test_malformed_body_is_a_4xx_json_error(push_client, payload: str, content_type: str) -> None:  # noqa: ANN001, F811
    response = push_client.generic("POST", PUSH_URL, payload, content_type=content_type)

    assert 400 <= response.status_code < 500
    assert response["Content-Type"] == "application/json"
    error = response.json()["error"]
    assert error["code"] in {"invalid", "parse_error", "unsupported_media_type"}
    assert error["message"]
    assert Article.objects.count() == 0


def test_batch_over_the_limit_is_refused_whole(push_client, settings) -> None:  # noqa: ANN001, F811
    settings.SENTIMENT_PUSH_MAX_BATCH = 3
    rows = [article_row(n) for n in range(4)]

    response = push_client.post(PUSH_URL, {"articles": rows}, format="json")

    assert response.status_code == 400
    assert "at most 3" in response.json()["error"]["fields"]["articles"][0]
    assert Article.objects.count() == 0


def test_a_row_that_is_not_an_object_is_a_row_error(push_client) -> None:  # noqa: ANN001, F811
    response = push_client.post(PUSH_URL, {"articles": [article_row(1), 42, None]}, format="json")
    assert response.status_code == 200
    assert [r["status"] for r in response.json()["results"]] == ["created", "error", "error"]

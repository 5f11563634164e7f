"""Only an active ingest client's key may push; every refusal is a JSON error, nothing stored."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.sentiment.models import Article, IngestClient
from tests.sentiment.ingest_fixtures import (  # noqa: F401 (fixtures)
    PUSH_URL,
    article_row,
    ingest_client_and_key,
    push_client,
)

pytestmark = pytest.mark.django_db

BODY = {"articles": [article_row(1)]}


def _assert_refused(response, code: str) -> None:  # noqa: ANN001
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == code
    assert response["WWW-Authenticate"] == "X-Api-Key"
    assert Article.objects.count() == 0


def test_no_key_is_401() -> None:
    _assert_refused(APIClient().post(PUSH_URL, BODY, format="json"), "not_authenticated")


def test_unknown_key_is_401() -> None:
    IngestClient.create_with_key(name="real")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY="not-a-key-anyone-was-given")
    _assert_refused(client.post(PUSH_URL, BODY, format="json"), "authentication_failed")


def test_inactive_clients_key_is_401(ingest_client_and_key, push_client) -> None:  # noqa: ANN001, F811
    ingest_client, _ = ingest_client_and_key
    ingest_client.active = False
    ingest_client.save()
    _assert_refused(push_client.post(PUSH_URL, BODY, format="json"), "authentication_failed")


def test_rotated_key_stops_the_old_one(ingest_client_and_key, push_client) -> None:  # noqa: ANN001, F811
    ingest_client, _ = ingest_client_and_key
    new_key = ingest_client.rotate_key()
    _assert_refused(push_client.post(PUSH_URL, BODY, format="json"), "authentication_failed")

    fresh = APIClient()
    fresh.credentials(HTTP_X_API_KEY=new_key)
    assert fresh.post(PUSH_URL, BODY, format="json").status_code == 200


def test_logged_in_staff_without_a_key_cannot_push(admin_client) -> None:  # noqa: ANN001
    response = admin_client.post(PUSH_URL, BODY, content_type="application/json")
    assert response.status_code == 401
    assert Article.objects.count() == 0


def test_valid_key_pushes_and_owns_the_article(ingest_client_and_key, push_client) -> None:  # noqa: ANN001, F811
    response = push_client.post(PUSH_URL, BODY, format="json")
    assert response.status_code == 200
    assert Article.objects.get().client == ingest_client_and_key[0]

"""Every endpoint wants a live shop key in X-Api-Key; nothing else gets in."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from apps.recommender.models import ShopClient
from tests.recommender.conftest import ShopApiClient

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    ("post", "items/", {"items": []}),
    ("delete", "items/sku-1/", None),
    ("post", "events/", {"events": []}),
    ("get", "users/u-1/recommendations/", None),
    ("get", "items/sku-1/similar/", None),
    ("get", "popular/", None),
]


def call(http: APIClient, method: str, path: str, body: object):  # noqa: ANN201
    url = f"/api/recommender/{path}"
    if method == "post":
        return http.post(url, body, format="json")
    return getattr(http, method)(url)


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_no_key_is_401_with_the_error_shape(method: str, path: str, body: object) -> None:
    response = call(APIClient(), method, path, body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"
    assert response["WWW-Authenticate"] == "X-Api-Key"


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_unknown_key_is_401(method: str, path: str, body: object) -> None:
    http = APIClient()
    http.credentials(HTTP_X_API_KEY="not-a-key")
    response = call(http, method, path, body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "authentication_failed"


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS)
def test_deactivated_shop_is_401(shop: ShopApiClient, method: str, path: str, body: object) -> None:
    ShopClient.objects.filter(id=shop.shop.id).update(active=False)
    assert call(shop.http, method, path, body).status_code == 401


def test_a_staff_session_without_a_key_is_refused() -> None:
    staff = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    http = APIClient()
    http.force_login(staff)
    assert http.get("/api/recommender/popular/").status_code in {401, 403}


def test_a_rotated_key_stops_working_and_the_new_one_works() -> None:
    client, old_key = ShopClient.create_with_key(name="rotating")
    http = APIClient()
    http.credentials(HTTP_X_API_KEY=old_key)
    assert http.get("/api/recommender/popular/").status_code == 200
    new_key = client.rotate_key()
    assert http.get("/api/recommender/popular/").status_code == 401
    http.credentials(HTTP_X_API_KEY=new_key)
    assert http.get("/api/recommender/popular/").status_code == 200

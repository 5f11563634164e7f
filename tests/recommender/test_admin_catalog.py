"""Admin: a client's key is shown once and can be rotated; items toggle at once; events are
read-only; co-occurrence can be refreshed by hand and shows its status."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.contrib.messages import get_messages
from django.test import Client
from rest_framework.test import APIClient

from apps.core.api_keys import api_key_hash
from apps.recommender.models import Item, ShopClient
from tests.recommender.conftest import ShopApiClient, event, item

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in() -> Client:
    user = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    browser = Client()
    browser.force_login(user)
    return browser


def shown_keys(response) -> list[str]:  # noqa: ANN001
    return [
        match
        for message in get_messages(response.wsgi_request)
        for match in re.findall(r"<code>([^<]+)</code>", str(message))
    ]


def works(key: str) -> bool:
    http = APIClient()
    http.credentials(HTTP_X_API_KEY=key)
    return http.get("/api/recommender/popular/").status_code == 200


def test_adding_a_client_shows_its_key_once(admin_client_logged_in: Client) -> None:
    response = admin_client_logged_in.post(
        "/admin/recommender/shopclient/add/", {"name": "acme", "active": "on"}
    )
    assert response.status_code == 302
    [key] = shown_keys(response)
    client = ShopClient.objects.get(name="acme")
    assert client.key_hash == api_key_hash(key) and key not in client.key_hash
    assert works(key)
    first = admin_client_logged_in.get(response.url)  # the page the message is shown on
    assert key in first.content.decode()
    again = admin_client_logged_in.get(f"/admin/recommender/shopclient/{client.id}/change/")
    assert key not in again.content.decode()


def test_rotating_shows_a_new_key_and_retires_the_old(admin_client_logged_in: Client) -> None:
    client, old_key = ShopClient.create_with_key(name="acme")
    response = admin_client_logged_in.post(
        "/admin/recommender/shopclient/",
        {"action": "rotate_keys", "_selected_action": [client.id]},
    )
    [new_key] = shown_keys(response)
    assert not works(old_key) and works(new_key)


def test_making_an_item_unavailable_takes_effect_at_once(
    admin_client_logged_in: Client, shop: ShopApiClient
) -> None:
    shop.items(item("a", "Alpha"), item("b", "Beta"))
    shop.events(event("e-1", "u-1", "a", "purchase"), event("e-2", "u-1", "b"))
    assert shop.item_ids("popular/") == ["a", "b"]
    alpha = Item.objects.get(external_id="a")
    admin_client_logged_in.post(
        "/admin/recommender/item/", {"action": "make_unavailable", "_selected_action": [alpha.id]}
    )
    assert shop.item_ids("popular/") == ["b"]
    admin_client_logged_in.post(
        "/admin/recommender/item/", {"action": "make_available", "_selected_action": [alpha.id]}
    )
    assert shop.item_ids("popular/") == ["a", "b"]
    page = admin_client_logged_in.get("/admin/recommender/item/?q=Alpha")
    assert page.status_code == 200 and "Item index:" in page.content.decode()


def test_events_are_read_only(admin_client_logged_in: Client, shop: ShopApiClient) -> None:
    shop.items(item("a", "Alpha"))
    shop.events(event("e-1", "u-1", "a"))
    listing = admin_client_logged_in.get("/admin/recommender/event/")
    assert listing.status_code == 200 and "e-1" in listing.content.decode()
    assert admin_client_logged_in.get("/admin/recommender/event/add/").status_code == 403
    event_id = shop.shop.events.get().id
    url = f"/admin/recommender/event/{event_id}/change/"
    assert admin_client_logged_in.get(url).status_code == 200  # viewable
    assert admin_client_logged_in.post(url, {"type": "purchase"}).status_code == 403
    assert shop.shop.events.get().type == "view"


def test_co_occurrence_refresh_from_admin_shows_its_status(
    admin_client_logged_in: Client, shop: ShopApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)
    shop.items(item("a", "Alpha"), item("b", "Beta"))
    shop.events(event("e-1", "u-1", "a"), event("e-2", "u-1", "b"))
    listing = admin_client_logged_in.get("/admin/recommender/shopclient/")
    assert "never computed" in listing.content.decode()
    admin_client_logged_in.post(
        "/admin/recommender/shopclient/",
        {"action": "refresh_cooccurrence_now", "_selected_action": [shop.shop.id]},
    )
    listing = admin_client_logged_in.get("/admin/recommender/shopclient/")
    assert "2 items, 1 users, 2 events" in listing.content.decode()

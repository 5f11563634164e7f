"""GET popular/: weighted by what users did, filtered by category and window, explained."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.recommender.models import Item
from apps.recommender.services import items_availability_set
from tests.recommender.conftest import ShopApiClient, event, item

pytestmark = pytest.mark.django_db


@pytest.fixture
def busy_shop(shop: ShopApiClient) -> ShopApiClient:
    shop.items(
        item("shoe", "Trail shoe", "shoes"),
        item("boot", "Hiking boot", "shoes"),
        item("jacket", "Rain jacket", "jackets"),
        item("quiet", "Nobody's item", "jackets"),
    )
    now = timezone.now()
    shop.events(
        # jacket: one purchase (5) beats the boot's three views (3); the shoe leads with 7
        event("e-1", "u-1", "shoe", "purchase"),
        event("e-2", "u-2", "shoe", "click"),
        event("e-3", "u-1", "jacket", "purchase"),
        event("e-4", "u-1", "boot"),
        event("e-5", "u-2", "boot"),
        event("e-6", "u-3", "boot"),
        # long ago: counts only in a wide window
        *[
            event(f"old-{i}", f"o-{i}", "quiet", "purchase", at=now - timedelta(days=20))
            for i in range(3)
        ],
    )
    return shop


def test_items_come_ranked_by_weighted_events_with_reasons(busy_shop: ShopApiClient) -> None:
    body = busy_shop.get("popular/").json()
    assert [row["item_id"] for row in body["items"]] == ["shoe", "jacket", "boot"]
    assert [row["score"] for row in body["items"]] == [7.0, 5.0, 3.0]
    assert body["items"][0]["reason"] == "popular in shoes"
    assert {row["source"] for row in body["items"]} == {"popular"}
    assert body["model_version"] is None and body["variant"] is None and body["request_id"]


def test_category_k_and_window_filter(busy_shop: ShopApiClient) -> None:
    assert busy_shop.item_ids("popular/", category="shoes") == ["shoe", "boot"]
    assert busy_shop.item_ids("popular/", k=1) == ["shoe"]
    assert busy_shop.item_ids("popular/", window_hours=24 * 30)[0] == "quiet"


def test_an_unavailable_or_removed_item_leaves_at_once(busy_shop: ShopApiClient) -> None:
    busy_shop.item_ids("popular/")  # the list is now cached
    shoe = Item.objects.get(external_id="shoe")
    items_availability_set(item_ids=[shoe.id], available=False)
    assert "shoe" not in busy_shop.item_ids("popular/")
    busy_shop.delete("items/jacket/")
    assert busy_shop.item_ids("popular/") == ["boot"]


@pytest.mark.parametrize("params", [{"k": 0}, {"k": "many"}, {"window_hours": -1}, {"k": 101}])
def test_bad_parameters_are_400(busy_shop: ShopApiClient, params: dict) -> None:
    response = busy_shop.get("popular/", **params)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_latency_headers_are_set(busy_shop: ShopApiClient) -> None:
    response = busy_shop.get("popular/")
    assert response["Server-Timing"].startswith("app;dur=")
    assert float(response["X-Response-Time-Ms"]) >= 0

"""GET users/<id>/recommendations/: history-based, explained, filtered, cold start."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.recommender.models import Impression, Item, ShopUser
from apps.recommender.services import items_availability_set
from tests.recommender.conftest import ShopApiClient, event, item, wait_for_index

pytestmark = pytest.mark.django_db

CATALOGUE = [
    item("shoe-1", "Trail running shoe", "shoes", description="Grippy sole for muddy trails"),
    item("shoe-2", "Road running shoe", "shoes", description="Cushioned shoe for asphalt runs"),
    item("sock-1", "Running socks", "socks", description="Breathable socks for runners"),
    item("pan-1", "Cast iron frying pan", "kitchen", description="Heavy skillet for searing"),
    item("pan-2", "Non-stick saucepan", "kitchen", description="Pot for sauces and soups"),
    item("tea-1", "Green tea leaves", "food", description="Loose leaf sencha"),
    item("tea-2", "Black tea bags", "food", description="Strong breakfast tea"),
]


@pytest.fixture
def indexed_shop(shop: ShopApiClient, eager_index) -> ShopApiClient:  # noqa: ANN001
    eager_index(lambda: shop.items(*CATALOGUE))
    wait_for_index(lambda ids: len(ids) == len(CATALOGUE))
    # the crowd: tea is what most people buy
    shop.events(*[event(f"crowd-{i}", f"c-{i}", "tea-1", "purchase") for i in range(4)])
    return shop


def test_a_new_user_gets_popular_items_and_is_remembered(indexed_shop: ShopApiClient) -> None:
    body = indexed_shop.get("users/newcomer/recommendations/", k=3).json()
    assert body["items"][0]["item_id"] == "tea-1"
    assert body["items"][0]["reason"] == "popular in food"
    assert body["items"][0]["source"] == "popular"
    assert len(body["items"]) == 3  # the newest items fill what popularity cannot
    assert ShopUser.objects.filter(client=indexed_shop.shop, external_id="newcomer").exists()


def test_a_new_user_on_a_product_page_gets_its_neighbours(indexed_shop: ShopApiClient) -> None:
    body = indexed_shop.get("users/newcomer/recommendations/", k=2, context_item="pan-1").json()
    assert [row["item_id"] for row in body["items"]][0] == "pan-2"
    assert body["items"][0]["reason"] == 'similar to "Cast iron frying pan"'
    assert "pan-1" not in [row["item_id"] for row in body["items"]]


def test_history_brings_similar_items_with_the_reason(indexed_shop: ShopApiClient) -> None:
    indexed_shop.events(event("e-1", "u-1", "shoe-1", "view"))
    body = indexed_shop.get("users/u-1/recommendations/", k=2).json()
    top = body["items"][0]
    assert top["item_id"] in {"shoe-2", "sock-1"}
    assert top["reason"] == 'similar to "Trail running shoe" you viewed'
    assert top["source"] == "similar"
    assert "shoe-1" not in [row["item_id"] for row in body["items"]]  # seen: excluded


def test_exclude_seen_purchased_or_nothing(indexed_shop: ShopApiClient) -> None:
    now = timezone.now()
    indexed_shop.events(
        event("e-1", "u-1", "tea-1", "purchase", at=now - timedelta(minutes=9)),
        event("e-2", "u-1", "pan-1", "view", at=now - timedelta(minutes=8)),
    )
    k = len(CATALOGUE)
    seen = indexed_shop.item_ids("users/u-1/recommendations/", k=k)
    purchased = indexed_shop.item_ids("users/u-1/recommendations/", k=k, exclude="purchased")
    nothing = indexed_shop.item_ids("users/u-1/recommendations/", k=k, exclude="none")
    assert {"tea-1", "pan-1"}.isdisjoint(seen)
    assert "tea-1" not in purchased and "pan-1" in purchased
    assert {"tea-1", "pan-1"} <= set(nothing)


def test_category_filter_applies_to_every_source(indexed_shop: ShopApiClient) -> None:
    indexed_shop.events(event("e-1", "u-1", "shoe-1"))
    found = indexed_shop.item_ids("users/u-1/recommendations/", k=5, category="kitchen")
    assert sorted(found) == ["pan-1", "pan-2"]


def test_an_unavailable_item_is_never_recommended(indexed_shop: ShopApiClient) -> None:
    indexed_shop.events(event("e-1", "u-1", "shoe-1"))
    gone = Item.objects.filter(external_id__in=["shoe-2", "tea-1"])
    items_availability_set(item_ids=list(gone.values_list("id", flat=True)), available=False)
    found = indexed_shop.item_ids("users/u-1/recommendations/", k=10)
    assert found and {"shoe-2", "tea-1"}.isdisjoint(found)


def test_the_response_is_complete_and_the_impression_stored(indexed_shop: ShopApiClient) -> None:
    response = indexed_shop.get("users/u-9/recommendations/", k=3)
    body = response.json()
    assert set(body) == {"items", "model_version", "request_id", "variant"}
    assert all(row["reason"] for row in body["items"])
    assert set(body["items"][0]) == {"item_id", "title", "category", "score", "reason", "source"}
    assert response["Server-Timing"].startswith("app;dur=")
    impression = Impression.objects.get(request_id=body["request_id"])
    shown = dict(Item.objects.values_list("id", "external_id"))
    assert [shown[i] for i in impression.item_ids] == [row["item_id"] for row in body["items"]]
    assert (impression.surface, impression.user.external_id) == ("for_you", "u-9")


def test_an_unknown_context_item_is_404(indexed_shop: ShopApiClient) -> None:
    response = indexed_shop.get("users/u-1/recommendations/", context_item="nope")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "item_not_found"


def test_an_empty_catalogue_answers_an_empty_list(shop: ShopApiClient, artifacts_dir) -> None:  # noqa: ANN001
    body = shop.get("users/u-1/recommendations/").json()
    assert body["items"] == []

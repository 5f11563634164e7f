"""GET items/<id>/similar/: text neighbours from the item index, live availability."""

from __future__ import annotations

import pytest

from apps.recommender.models import Item
from apps.recommender.services import items_availability_set
from tests.recommender.conftest import ShopApiClient, indexed_ids, item, wait_for_index

pytestmark = pytest.mark.django_db

CATALOGUE = [
    item("shoe-1", "Trail running shoe", "shoes", description="Grippy sole for muddy trails"),
    item("shoe-2", "Road running shoe", "shoes", description="Cushioned shoe for asphalt runs"),
    item("shoe-3", "Running shoe for marathons", "shoes", description="Light racing shoe"),
    item("sock-1", "Running socks", "socks", description="Breathable socks for runners"),
    item("pan-1", "Cast iron frying pan", "kitchen", description="Heavy skillet for searing"),
    item("pan-2", "Non-stick saucepan", "kitchen", description="Pot for sauces and soups"),
    item("tea-1", "Green tea leaves", "food", description="Loose leaf sencha"),
]


@pytest.fixture
def indexed_shop(shop: ShopApiClient, eager_index) -> ShopApiClient:  # noqa: ANN001
    eager_index(lambda: shop.items(*CATALOGUE))
    wait_for_index(lambda ids: len(ids) == len(CATALOGUE))
    return shop


def test_neighbours_are_the_items_with_similar_text(indexed_shop: ShopApiClient) -> None:
    body = indexed_shop.get("items/shoe-1/similar/", k=3).json()
    found = [row["item_id"] for row in body["items"]]
    assert set(found) <= {"shoe-2", "shoe-3", "sock-1"} and len(found) == 3
    assert "shoe-1" not in found
    assert body["items"][0]["reason"] == 'similar to "Trail running shoe"'
    assert body["items"][0]["source"] == "context"
    pans = indexed_shop.item_ids("items/pan-1/similar/", k=1)
    assert pans == ["pan-2"]


def test_category_filter(indexed_shop: ShopApiClient) -> None:
    found = indexed_shop.item_ids("items/shoe-1/similar/", k=5, category="socks")
    assert found == ["sock-1"]


def test_unavailable_and_removed_items_leave_at_once(indexed_shop: ShopApiClient) -> None:
    shoe_2 = Item.objects.get(external_id="shoe-2")
    items_availability_set(item_ids=[shoe_2.id], available=False)
    found = indexed_shop.item_ids("items/shoe-1/similar/", k=6)
    assert "shoe-2" not in found
    assert len(found) == 5  # the rest of the catalogue still fills k
    indexed_shop.delete("items/shoe-3/")  # its vector is still in the index (no sync ran)
    assert Item.objects.get(external_id="shoe-3").id in indexed_ids()
    assert "shoe-3" not in indexed_shop.item_ids("items/shoe-1/similar/", k=6)


def test_an_unknown_or_removed_item_is_404(indexed_shop: ShopApiClient) -> None:
    response = indexed_shop.get("items/nope/similar/")
    assert response.status_code == 404
    assert response.json()["error"] == {
        "code": "item_not_found",
        "message": "no item 'nope' in this catalogue",
        "fields": {"item_id": "nope"},
    }


def test_an_item_not_indexed_yet_is_searched_by_its_text(shop: ShopApiClient, eager_index) -> None:  # noqa: ANN001
    eager_index(lambda: shop.items(*CATALOGUE))
    wait_for_index(lambda ids: len(ids) == len(CATALOGUE))
    shop.items(item("pan-3", "Stainless steel frying pan", "kitchen"))  # no sync: not committed
    assert Item.objects.get(external_id="pan-3").id not in indexed_ids()
    assert shop.item_ids("items/pan-3/similar/", k=1) == ["pan-1"]

"""Two shops on one deployment (one item index): neither ever sees the other's rows."""

from __future__ import annotations

import pytest

from apps.recommender.models import Event, Item, ShopUser
from tests.recommender.conftest import ShopApiClient, event, item, wait_for_index

pytestmark = pytest.mark.django_db

SHOES = [
    item("shoe-1", "Trail running shoe", "shoes"),
    item("shoe-2", "Road running shoe", "shoes"),
]


@pytest.fixture
def two_shops(shop: ShopApiClient, other_shop: ShopApiClient, eager_index):  # noqa: ANN001, ANN201
    eager_index(lambda: shop.items(*SHOES, item("only-a", "Running shoe for kids", "shoes")))
    eager_index(lambda: other_shop.items(*SHOES, item("pan", "Frying pan", "kitchen")))
    wait_for_index(lambda ids: len(ids) == 6)
    shop.events(*[event(f"a-{n}", f"u-{n}", "only-a", "purchase") for n in range(3)])
    return shop, other_shop


def test_reads_are_scoped_to_the_key(two_shops) -> None:  # noqa: ANN001
    a, b = two_shops
    assert a.item_ids("popular/") == ["only-a"]
    assert b.item_ids("popular/") == []
    similar_b = b.item_ids("items/shoe-1/similar/", k=10)
    assert sorted(similar_b) == ["pan", "shoe-2"]  # the other shop's kids shoe is closer
    assert "only-a" not in b.item_ids("users/u-0/recommendations/", k=10, exclude="none")
    assert b.get("items/only-a/similar/").status_code == 404


def test_writes_are_scoped_to_the_key(two_shops) -> None:  # noqa: ANN001
    a, b = two_shops
    assert b.delete("items/only-a/").status_code == 404
    assert not Item.objects.get(external_id="only-a").removed
    body = b.events(event("a-0", "u-0", "only-a"), event("b-1", "u-0", "shoe-1"))
    # the same event id as shop A's is no duplicate here; A's item is unknown here
    assert [r["status"] for r in body["results"]] == ["error", "created"]
    b.items(item("shoe-1", "Renamed in B", "shoes"))
    assert Item.objects.get(client=a.shop, external_id="shoe-1").title == "Trail running shoe"
    assert ShopUser.objects.filter(external_id="u-0").count() == 2  # one per shop
    assert Event.objects.filter(client=b.shop).count() == 1

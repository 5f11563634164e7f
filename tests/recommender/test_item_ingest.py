"""POST items/ upserts by external id with a result per row; DELETE removes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from apps.recommender.models import Item
from tests.recommender.conftest import ShopApiClient, item

pytestmark = pytest.mark.django_db


def statuses(body: dict) -> list[str]:
    return [row["status"] for row in body["results"]]


def test_rows_are_created_updated_or_unchanged(shop: ShopApiClient) -> None:
    first = shop.items(
        item("sku-1", "Trail shoe", "shoes", price="89.90", tags=["trail"]),
        item("sku-2", "Rain jacket", "jackets"),
    )
    assert (first["created"], first["updated"], first["failed"]) == (2, 0, 0)
    assert statuses(first) == ["created", "created"]

    second = shop.items(
        item("sku-1", "Trail shoe", "shoes", price="89.90", tags=["trail"]),
        {"external_id": "sku-2", "available": False},
        item("sku-3", "Wool socks", "socks"),
    )
    assert statuses(second) == ["unchanged", "updated", "created"]
    assert (second["created"], second["updated"], second["unchanged"]) == (1, 1, 1)
    jacket = Item.objects.get(client=shop.shop, external_id="sku-2")
    assert (jacket.title, jacket.available) == ("Rain jacket", False)  # partial update
    shoe = Item.objects.get(client=shop.shop, external_id="sku-1")
    assert (shoe.price, shoe.tags) == (Decimal("89.90"), ["trail"])


def test_bad_rows_get_errors_and_the_good_rows_are_kept(shop: ShopApiClient) -> None:
    body = shop.items(
        item("sku-1", "Good one"),
        {"title": "no id"},
        item("sku-2", "Negative", price="-1"),
        {"external_id": "sku-3"},  # new item without a title
        "not an object",
        item("sku-4", "Tags wrong", tags="trail"),
        item("sku-1", "Same id again"),
    )
    assert statuses(body) == ["created", "error", "error", "error", "error", "error", "error"]
    assert body["failed"] == 6
    results = body["results"]
    assert "external_id" in results[1]["errors"]
    assert "price" in results[2]["errors"]
    assert results[3]["errors"] == {"title": ["required for a new item"]}
    assert results[3]["external_id"] == "sku-3"
    assert results[4]["external_id"] is None
    assert "tags" in results[5]["errors"]
    assert "twice" in results[6]["errors"]["external_id"][0]
    assert list(Item.objects.filter(client=shop.shop).values_list("external_id", "title")) == [
        ("sku-1", "Good one")
    ]


def test_a_batch_over_the_limit_is_refused_whole(shop: ShopApiClient, settings) -> None:  # noqa: ANN001
    settings.RECOMMENDER_MAX_BATCH_ROWS = 3
    response = shop.post("items/", {"items": [item(f"sku-{i}", "x") for i in range(4)]})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "batch_too_large"
    assert not Item.objects.exists()


@pytest.mark.parametrize("body", [{}, {"items": "sku-1"}, [], {"items": None}])
def test_a_malformed_body_is_400_not_500(shop: ShopApiClient, body: object) -> None:
    response = shop.post("items/", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"


def test_delete_removes_and_a_second_delete_is_404(shop: ShopApiClient) -> None:
    shop.items(item("sku-1", "Trail shoe"))
    assert shop.delete("items/sku-1/").status_code == 204
    assert Item.objects.get(external_id="sku-1").removed
    response = shop.delete("items/sku-1/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "item_not_found"


def test_upserting_a_removed_item_brings_it_back(shop: ShopApiClient) -> None:
    shop.items(item("sku-1", "Trail shoe"))
    shop.delete("items/sku-1/")
    body = shop.items(item("sku-1", "Trail shoe"))
    assert statuses(body) == ["updated"]
    assert not Item.objects.get(external_id="sku-1").removed

"""The demo shop's pages: off unless configured and loaded, a shopper cookie, and the demo
client's key (only that client's) handed to the page's script."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

from apps.recommender.demo_data import demo_shop_key
from apps.recommender.shop_views import USER_COOKIE
from tests.recommender.factories import ItemFactory, ShopClientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(settings):  # noqa: ANN001, ANN201
    settings.RECOMMENDER_DEMO_SHOP = "demo-shop"
    client = ShopClientFactory(name="demo-shop")
    ItemFactory(client=client, external_id="SKU-1", title="Burr Coffee Grinder", category="Coffee")
    ItemFactory(client=client, external_id="SKU-2", title="Trail Shoes", category="Running")
    ItemFactory(client=client, external_id="SKU-3", title="Gone", category="Running", removed=True)
    return client


def _config(response) -> dict:  # noqa: ANN001
    match = re.search(
        r'<script id="shop-config" type="application/json">(.*?)</script>',
        response.content.decode(),
        re.S,
    )
    assert match, "the page carries its API settings"
    return json.loads(match.group(1))


def test_the_shop_is_off_without_the_setting_or_its_client(client, settings) -> None:  # noqa: ANN001
    settings.RECOMMENDER_DEMO_SHOP = ""
    assert client.get(reverse("recommender:shop")).status_code == 404
    settings.RECOMMENDER_DEMO_SHOP = "demo-shop"  # configured, but the demo was never loaded
    assert client.get(reverse("recommender:shop")).status_code == 404


def test_a_new_shopper_gets_a_cookie_that_the_next_page_reuses(client, shop) -> None:  # noqa: ANN001
    first = client.get(reverse("recommender:shop"))
    assert first.status_code == 200
    user_id = first.cookies[USER_COOKIE].value
    assert user_id.startswith("shopper-") and _config(first)["user_id"] == user_id

    again = client.get(reverse("recommender:shop-product", args=["SKU-1"]))
    assert USER_COOKIE not in again.cookies  # kept, not replaced
    assert _config(again)["user_id"] == user_id
    assert _config(again)["item_id"] == "SKU-1"


def test_a_malformed_cookie_is_replaced(client, shop) -> None:  # noqa: ANN001
    client.cookies[USER_COOKIE] = "<script>"
    response = client.get(reverse("recommender:shop"))
    assert response.cookies[USER_COOKIE].value.startswith("shopper-")
    assert "<script>" not in _config(response)["user_id"]


def test_pages_list_the_demo_clients_products_and_carry_its_key(client, shop) -> None:  # noqa: ANN001
    ItemFactory(client=ShopClientFactory(), external_id="SKU-9", title="Another shop's item")
    response = client.get(reverse("recommender:shop"))
    html = response.content.decode()
    assert "Burr Coffee Grinder" in html and "Trail Shoes" in html
    assert "Gone" not in html and "Another shop&#x27;s item" not in html
    config = _config(response)
    assert config["key"] == demo_shop_key("demo-shop")
    assert config["api"] == "/api/recommender/"

    running = client.get(reverse("recommender:shop") + "?category=Running").content.decode()
    assert "Trail Shoes" in running and "Burr Coffee Grinder" not in running


def test_unknown_removed_and_other_shops_products_are_404(client, shop) -> None:  # noqa: ANN001
    ItemFactory(client=ShopClientFactory(), external_id="SKU-9")
    assert client.get(reverse("recommender:shop-product", args=["SKU-404"])).status_code == 404
    assert client.get(reverse("recommender:shop-product", args=["SKU-3"])).status_code == 404
    assert client.get(reverse("recommender:shop-product", args=["SKU-9"])).status_code == 404

"""Every catalogue row belongs to one client: ids repeat across shops, never within one."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.recommender.models import ShopClient
from tests.recommender.factories import ItemFactory, ShopClientFactory

pytestmark = pytest.mark.django_db


def test_two_shops_may_use_the_same_item_id() -> None:
    ItemFactory(client=ShopClientFactory(), external_id="sku-1")
    ItemFactory(client=ShopClientFactory(), external_id="sku-1")


def test_one_shop_cannot_hold_an_item_id_twice() -> None:
    shop = ShopClientFactory()
    ItemFactory(client=shop, external_id="sku-1")
    with pytest.raises(IntegrityError), transaction.atomic():
        ItemFactory(client=shop, external_id="sku-1")


def test_new_client_key_is_shown_once_and_stored_hashed() -> None:
    client, key = ShopClient.create_with_key(name="acme")
    client.refresh_from_db()
    assert key.startswith(client.key_prefix)
    assert key not in (client.key_hash, client.name)

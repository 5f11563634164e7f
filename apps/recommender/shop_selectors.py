"""What the demo shop's pages list: the demo client's products, as a shop would show them."""

from __future__ import annotations

from django.db.models import QuerySet

from apps.recommender.models import Item, ShopClient


def shop_categories(*, client: ShopClient) -> list[str]:
    return list(
        Item.objects.filter(client=client, available=True, removed=False)
        .exclude(category="")
        .values_list("category", flat=True)
        .distinct()
        .order_by("category")
    )


def shop_products(*, client: ShopClient, category: str = "") -> QuerySet[Item]:
    products = Item.objects.filter(client=client, available=True, removed=False)
    if category:
        products = products.filter(category=category)
    return products.order_by("category", "title")


def shop_product(*, client: ShopClient, external_id: str) -> Item | None:
    return Item.objects.filter(client=client, external_id=external_id, removed=False).first()

"""factory_boy factories for the recommender models; shared by every recommender test module."""

from __future__ import annotations

import factory
from django.utils import timezone

from apps.core.api_keys import api_key_hash
from apps.recommender.models import Event, EventType, Item, ShopClient, ShopUser


class ShopClientFactory(factory.django.DjangoModelFactory):
    """A client whose key is `key-<name>` (tests send it in X-Api-Key)."""

    class Meta:
        model = ShopClient

    name = factory.Sequence(lambda n: f"shop-{n}")
    key_prefix = factory.LazyAttribute(lambda c: f"key-{c.name}"[:8])
    key_hash = factory.LazyAttribute(lambda c: api_key_hash(f"key-{c.name}"))


class ItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Item

    client = factory.SubFactory(ShopClientFactory)
    external_id = factory.Sequence(lambda n: f"sku-{n}")
    title = factory.Sequence(lambda n: f"Product {n}")
    description = ""
    category = "general"


class ShopUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ShopUser

    client = factory.SubFactory(ShopClientFactory)
    external_id = factory.Sequence(lambda n: f"user-{n}")


class EventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Event

    client = factory.SelfAttribute("user.client")
    external_id = factory.Sequence(lambda n: f"event-{n}")
    user = factory.SubFactory(ShopUserFactory)
    item = factory.SubFactory(ItemFactory, client=factory.SelfAttribute("..user.client"))
    type = EventType.VIEW
    occurred_at = factory.LazyFunction(timezone.now)

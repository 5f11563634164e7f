"""The demo shop: a 200-product catalogue, a few hundred synthetic shoppers and an A/B test.

Shoppers have one or two favourite categories; within a visit they move to items that share a
tag (a coffee book after a grinder), stay in the category, or wander, and some visits end in a
purchase. Everything is seeded, so each run builds the same history (timestamps relative to
the day it runs); loading twice adds nothing.
"""

from __future__ import annotations

import json
import random
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from apps.core.api_keys import KEY_PREFIX_LENGTH, api_key_hash
from apps.recommender.experiments.services import bucket_of
from apps.recommender.models import (
    Event,
    EventType,
    Experiment,
    Impression,
    Item,
    ShopClient,
    ShopUser,
    Variant,
)

DEMO_CATALOGUE = Path(__file__).resolve().parent / "demo" / "catalogue.json"
DEMO_USERS = 300
DEMO_DAYS = 30
DEMO_EXPERIMENT = "for-you: ranked vs text similarity"
ITEM_INDEX = "recommender_items"
SHOWN_PER_IMPRESSION = 8


def demo_shop_key(name: str) -> str:
    """The demo client's API key, derived from SECRET_KEY: the loader and the shop page agree
    on it without storing it anywhere, and it changes with the secret."""
    return salted_hmac("apps.recommender.demo_shop", name).hexdigest()


def demo_shop_client() -> ShopClient | None:
    """The client the demo shop page serves (RECOMMENDER_DEMO_SHOP), if it was loaded."""
    name = settings.RECOMMENDER_DEMO_SHOP
    if not name:
        return None
    return ShopClient.objects.filter(name=name, active=True).first()


@dataclass
class _Step:
    item: Item
    kind: str
    at: datetime


def load_demo_shop(path: Path = DEMO_CATALOGUE, *, now: datetime | None = None) -> str:
    name = settings.RECOMMENDER_DEMO_SHOP or "demo-shop"
    now = now or timezone.now()
    key = demo_shop_key(name)
    with transaction.atomic():
        client, _ = ShopClient.objects.get_or_create(
            name=name,
            defaults={"key_prefix": key[:KEY_PREFIX_LENGTH], "key_hash": api_key_hash(key)},
        )
        if client.key_hash != api_key_hash(key):  # SECRET_KEY changed since the last load
            client.key_prefix, client.key_hash = key[:KEY_PREFIX_LENGTH], api_key_hash(key)
            client.save(update_fields=["key_prefix", "key_hash"])
        items_new = _catalogue_load(client, path)
        if client.events.exists():
            events_new = impressions_new = 0
        else:
            events_new, impressions_new = _history_generate(client, now=now)
    vectors = _item_index_rebuild()
    indexed = f", {vectors} item vectors indexed" if vectors is not None else ""
    return (
        f"shop '{name}': {items_new} products added ({client.items.count()} in the catalogue), "
        f"{events_new} events from {DEMO_USERS} shoppers, {impressions_new} A/B impressions"
        f"{indexed}"
    )


def _catalogue_load(client: ShopClient, path: Path) -> int:
    rows = json.loads(path.read_text(encoding="utf-8"))["items"]
    existing = set(client.items.values_list("external_id", flat=True))
    Item.objects.bulk_create(
        Item(
            client=client,
            external_id=row["external_id"],
            title=row["title"],
            description=row["description"],
            tags=row["tags"],
            category=row["category"],
            price=Decimal(row["price"]),
            available=row.get("available", True),
        )
        for row in rows
        if row["external_id"] not in existing
    )
    return len([row for row in rows if row["external_id"] not in existing])


def _item_index_rebuild() -> int | None:
    """Embed the catalogue into the item index when the recommender registered one."""
    from ml.registry.indexes import index_names, index_rebuild

    if ITEM_INDEX not in index_names():
        return None
    return index_rebuild(name=ITEM_INDEX)


class _Shopper:
    """Walks the catalogue: tag neighbours, the same category, or a favourite category."""

    def __init__(self, rng: random.Random, items: list[Item]) -> None:
        self.rng = rng
        self.by_category: dict[str, list[Item]] = defaultdict(list)
        self.by_tag: dict[str, list[Item]] = defaultdict(list)
        for item in items:
            self.by_category[item.category].append(item)
            for tag in item.tags:
                self.by_tag[tag].append(item)
        self.categories = sorted(self.by_category)
        # Some products sell better than others: a fixed popularity weight per item.
        self.weight = {item.id: rng.paretovariate(1.5) for item in items}

    def pick(self, pool: list[Item]) -> Item:
        return self.rng.choices(pool, weights=[self.weight[i.id] for i in pool])[0]

    def favourites(self) -> list[str]:
        return self.rng.sample(self.categories, self.rng.choice((1, 1, 2)))

    def next_item(self, current: Item, favourites: list[str]) -> Item:
        roll = self.rng.random()
        if roll < 0.5:
            pool = [i for tag in current.tags for i in self.by_tag[tag] if i.id != current.id]
            if pool:
                return self.pick(pool)
        if roll < 0.85:
            return self.pick([i for i in self.by_category[current.category] if i.id != current.id])
        return self.pick(self.by_category[self.rng.choice(favourites)])

    def visit(self, favourites: list[str], start: datetime) -> list[_Step]:
        item = self.pick(self.by_category[self.rng.choice(favourites)])
        at = start
        steps = [_Step(item, EventType.VIEW, at)]
        for _ in range(self.rng.randint(1, 7)):
            item = self.next_item(item, favourites)
            at += timedelta(seconds=self.rng.randint(20, 240))
            steps.append(_Step(item, EventType.VIEW, at))
            if self.rng.random() < 0.12:
                at += timedelta(seconds=self.rng.randint(10, 60))
                steps.append(_Step(item, EventType.ADD_TO_CART, at))
                if self.rng.random() < 0.6:
                    at += timedelta(seconds=self.rng.randint(60, 600))
                    steps.append(_Step(item, EventType.PURCHASE, at))
                    break
        return steps


def _history_generate(client: ShopClient, *, now: datetime) -> tuple[int, int]:
    rng = random.Random(14)  # noqa: S311 - seeded synthetic history, not secrets
    items = list(client.items.order_by("id"))
    shopper = _Shopper(rng, items)
    users = ShopUser.objects.bulk_create(
        ShopUser(client=client, external_id=f"demo-shopper-{n:03d}") for n in range(DEMO_USERS)
    )
    experiment = _experiment_create(client, started_at=now - timedelta(days=14))
    variants = list(experiment.variants.order_by("id"))
    events: list[Event] = []
    impressions: list[Impression] = []
    for user in users:
        favourites = shopper.favourites()
        variant = _variant_of(experiment, variants, user.external_id)
        for visit in range(rng.randint(1, 6)):
            start = now - timedelta(days=rng.uniform(0.2, DEMO_DAYS))
            steps = shopper.visit(favourites, start)
            if start >= experiment.started_at:
                shown = _shown(shopper, variant, steps[0].item, favourites)
                impressions.append(
                    Impression(
                        client=client,
                        user=user,
                        variant=variant,
                        request_id=f"demo-{user.external_id}-{visit}",
                        surface="for_you",
                        item_ids=[i.id for i in shown],
                        shown_at=steps[0].at + timedelta(seconds=1),
                    )
                )
                steps = _clicked_from(steps, shown, rng)
            events.extend(
                Event(
                    client=client,
                    external_id=f"demo-{user.external_id}-{visit}-{n}",
                    user=user,
                    item=step.item,
                    type=step.kind,
                    occurred_at=step.at,
                )
                for n, step in enumerate(steps)
            )
    Event.objects.bulk_create(events, batch_size=2000, ignore_conflicts=True)
    Impression.objects.bulk_create(impressions, batch_size=2000, ignore_conflicts=True)
    return len(events), len(impressions)


def _experiment_create(client: ShopClient, *, started_at: datetime) -> Experiment:
    experiment = Experiment.objects.create(
        client=client,
        name=DEMO_EXPERIMENT,
        salt="demo",
        status=Experiment.Status.STOPPED
        if client.experiments.filter(status=Experiment.Status.RUNNING).exists()
        else Experiment.Status.RUNNING,
        started_at=started_at,
        attribution_window_hours=24,
    )
    Variant.objects.create(
        experiment=experiment, name="A", strategy=Variant.Strategy.RANKED, traffic_share=0.5
    )
    Variant.objects.create(
        experiment=experiment, name="B", strategy=Variant.Strategy.SIMILAR, traffic_share=0.5
    )
    return experiment


def _variant_of(experiment: Experiment, variants: list[Variant], user_id: str) -> Variant:
    point = bucket_of(salt=experiment.salt, user_external_id=user_id)
    return variants[0] if point < variants[0].traffic_share else variants[1]


def _shown(shopper: _Shopper, variant: Variant, seen: Item, favourites: list[str]) -> list[Item]:
    """What each arm would have put in the "for you" row in the simulated past: A mixes the
    shopper's favourite categories with the item's tag neighbours, B only text neighbours."""
    rng = shopper.rng
    pool = [i for tag in seen.tags for i in shopper.by_tag[tag] if i.id != seen.id]
    if variant.strategy == Variant.Strategy.RANKED:
        pool += [i for c in favourites for i in shopper.by_category[c] if i.id != seen.id]
    pool = list({i.id: i for i in pool}.values()) or shopper.by_category[seen.category]
    return rng.sample(pool, min(SHOWN_PER_IMPRESSION, len(pool)))


def _clicked_from(steps: list[_Step], shown: list[Item], rng: random.Random) -> list[_Step]:
    """A shopper who moves on to an item from the row clicks it there first."""
    shown_ids = {i.id for i in shown}
    out: list[_Step] = []
    for step in steps:
        if step.kind == EventType.VIEW and step.item.id in shown_ids and rng.random() < 0.7:
            out.append(_Step(step.item, EventType.CLICK, step.at - timedelta(seconds=1)))
        out.append(step)
    return out

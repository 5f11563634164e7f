"""`manage.py demo` loads a shop whose key the page can use, a catalogue, shoppers with
favourite categories and a running A/B test with figures; loading again adds nothing."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime

import pytest

from apps.core.api_keys import api_key_hash
from apps.core.demo import demo_contributions
from apps.recommender.demo_data import (
    DEMO_CATALOGUE,
    demo_shop_client,
    demo_shop_key,
    load_demo_shop,
)
from apps.recommender.experiments.reports import experiment_report
from apps.recommender.models import Event, EventType, Experiment, Item

pytestmark = pytest.mark.django_db

NOW = datetime.fromisoformat("2026-05-01T12:00:00+00:00")


@pytest.fixture
def demo_shop(settings):  # noqa: ANN001, ANN201
    settings.RECOMMENDER_DEMO_SHOP = "demo-shop"
    load_demo_shop(now=NOW)
    return demo_shop_client()


def test_the_catalogue_is_a_real_shops_worth_of_products() -> None:
    rows = json.loads(DEMO_CATALOGUE.read_text())["items"]
    assert 150 <= len(rows) <= 250
    assert len({row["external_id"] for row in rows}) == len(rows)
    assert len({row["title"] for row in rows}) == len(rows)
    assert len({row["category"] for row in rows}) >= 8
    assert all(row["description"] and row["tags"] and float(row["price"]) > 0 for row in rows)


def test_loads_a_client_whose_key_is_the_derived_demo_key(demo_shop) -> None:  # noqa: ANN001
    assert demo_shop is not None and demo_shop.name == "demo-shop"
    assert demo_shop.key_hash == api_key_hash(demo_shop_key("demo-shop"))
    assert Item.objects.filter(client=demo_shop).count() == len(
        json.loads(DEMO_CATALOGUE.read_text())["items"]
    )


def test_shoppers_keep_to_their_favourite_categories_and_some_buy(demo_shop) -> None:  # noqa: ANN001
    views = defaultdict(Counter)
    for user_id, category in Event.objects.filter(
        client=demo_shop, type=EventType.VIEW
    ).values_list("user_id", "item__category"):
        views[user_id][category] += 1
    assert len(views) >= 250
    in_top_two = sum(sum(c for _, c in cats.most_common(2)) for cats in views.values())
    total = sum(sum(cats.values()) for cats in views.values())
    assert in_top_two / total > 0.6  # ten categories: uniform browsing would give about 0.3
    kinds = Counter(Event.objects.filter(client=demo_shop).values_list("type", flat=True))
    assert kinds[EventType.VIEW] > kinds[EventType.CLICK] > kinds[EventType.PURCHASE] > 0
    assert not Event.objects.filter(client=demo_shop, occurred_at__gt=NOW).exists()


def test_the_demo_experiment_runs_and_has_figures(demo_shop) -> None:  # noqa: ANN001
    experiment = Experiment.objects.get(client=demo_shop)
    assert experiment.status == Experiment.Status.RUNNING
    report = experiment_report(experiment=experiment)
    assert [v.name for v in report.variants] == ["A", "B"]
    for variant in report.variants:
        assert variant.impressions > 50 and variant.ctr.successes > 0


def test_loading_twice_adds_nothing(demo_shop, settings) -> None:  # noqa: ANN001
    counts = (Item.objects.count(), Event.objects.count(), Experiment.objects.count())
    summary = load_demo_shop(now=NOW)
    assert summary.startswith("shop 'demo-shop': 0 products added")
    assert (Item.objects.count(), Event.objects.count(), Experiment.objects.count()) == counts


def test_the_demo_command_knows_the_shop() -> None:
    contribution = next(c for c in demo_contributions() if c.app == "recommender")
    assert ("Demo shop", "recommender:shop") in contribution.urls

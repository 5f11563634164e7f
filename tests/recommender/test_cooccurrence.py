"""Co-occurrence: computed per client by the beat task, with an on-demand fallback."""

from __future__ import annotations

import pytest
from django.conf import settings

from apps.recommender.services import cooccurrence_status
from apps.recommender.services.cooccurrence import cooccurrence_matrix
from apps.recommender.tasks.catalog import refresh_cooccurrence
from config.celery import app
from tests.recommender.conftest import ShopApiClient, event, item

pytestmark = pytest.mark.django_db


def test_neighbours_are_ranked_by_cosine_of_their_users() -> None:
    pairs = [(1, 10), (1, 20), (2, 10), (2, 20), (3, 10), (3, 30), (4, 30), (4, 40)]
    table = cooccurrence_matrix(pairs, neighbours=5)
    # 10 and 20 share 2 users of 3 and 2: 2 / sqrt(6); 10 and 30 share 1: 1 / sqrt(6)
    assert [other for other, _ in table[10]] == [20, 30]
    assert table[10][0][1] == pytest.approx(2 / 6**0.5, abs=1e-5)
    assert [other for other, _ in table[40]] == [30]
    assert 10 not in dict(table[10])
    assert len(cooccurrence_matrix(pairs, neighbours=1)[10]) == 1


@pytest.fixture
def bundle_shop(shop: ShopApiClient, artifacts_dir) -> ShopApiClient:  # noqa: ANN001
    shop.items(
        item("grinder", "Coffee grinder", "coffee"),
        item("beans", "Espresso beans", "coffee"),
        item("kettle", "Gooseneck kettle", "coffee"),
        item("towel", "Beach towel", "beach"),
    )
    rows = []
    for n in range(4):  # grinder buyers buy beans
        rows += [
            event(f"g-{n}", f"buyer-{n}", "grinder", "purchase"),
            event(f"b-{n}", f"buyer-{n}", "beans", "purchase"),
        ]
    rows.append(event("k-0", "buyer-0", "kettle", "view"))
    rows += [event(f"t-{n}", f"beach-{n}", "towel", "purchase") for n in range(6)]
    shop.events(*rows)
    return shop


def test_the_beat_task_refreshes_and_recommendations_say_why(bundle_shop: ShopApiClient) -> None:
    entry = settings.CELERY_BEAT_SCHEDULE["recommender-refresh-cooccurrence"]
    assert entry["task"] == "recommender.refresh_cooccurrence" in app.tasks
    assert refresh_cooccurrence.apply().get() == [bundle_shop.shop.id]
    status = cooccurrence_status(client_id=bundle_shop.shop.id)
    # grinder, beans and the kettle co-occur; the towel was only ever bought alone
    assert (status.state, status.items, status.users) == ("done", 3, 10)

    bundle_shop.events(event("me-1", "me", "grinder", "purchase"))
    body = bundle_shop.get("users/me/recommendations/", k=2).json()
    assert body["items"][0]["item_id"] == "beans"
    assert body["items"][0]["reason"] == 'often bought with "Coffee grinder"'
    assert body["items"][0]["source"] == "cooccurrence"


def test_without_a_refresh_the_neighbours_are_computed_on_demand(
    bundle_shop: ShopApiClient,
) -> None:
    assert cooccurrence_status(client_id=bundle_shop.shop.id) is None
    body = bundle_shop.get("items/grinder/similar/", k=2).json()
    assert body["items"][0]["item_id"] == "beans"
    assert body["items"][0]["source"] == "cooccurrence"


def test_another_shop_s_events_never_make_neighbours(
    bundle_shop: ShopApiClient, other_shop: ShopApiClient
) -> None:
    """Same external ids in both shops; only the first has events."""
    other_shop.items(item("grinder", "Coffee grinder", "coffee"), item("beans", "Beans", "coffee"))
    refresh_cooccurrence.apply()
    for path in ("items/grinder/similar/", "users/someone/recommendations/"):
        other_shop.events(event("o-1", "someone", "grinder", "purchase"))
        found = other_shop.get(path, k=5, exclude="none").json()["items"]
        assert "cooccurrence" not in {row["source"] for row in found}
    assert cooccurrence_status(client_id=other_shop.shop.id).items == 0

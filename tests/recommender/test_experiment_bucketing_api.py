"""A running experiment decides each user's strategy; the response and impression name it."""

from __future__ import annotations

import pytest

from apps.recommender.experiments.services import bucket_of
from apps.recommender.models import Experiment, Impression, Variant
from tests.recommender.conftest import ShopApiClient, event, item, wait_for_index

pytestmark = pytest.mark.django_db

CATALOGUE = [
    item("shoe-1", "Trail running shoe", "shoes"),
    item("shoe-2", "Road running shoe", "shoes"),
    item("pan-1", "Cast iron frying pan", "kitchen"),
    item("tea-1", "Green tea leaves", "food"),
]


def user_in(experiment: Experiment, low: float, high: float) -> str:
    """A user id whose bucket falls in [low, high)."""
    for n in range(1000):
        user = f"u-{n}"
        if low <= bucket_of(salt=experiment.salt, user_external_id=user) < high:
            return user
    raise AssertionError("no user found in the bucket range")


@pytest.fixture
def experiment_shop(shop: ShopApiClient, eager_index) -> tuple[ShopApiClient, Experiment]:  # noqa: ANN001
    eager_index(lambda: shop.items(*CATALOGUE))
    wait_for_index(lambda ids: len(ids) == len(CATALOGUE))
    shop.events(*[event(f"crowd-{i}", f"c-{i}", "tea-1", "purchase") for i in range(3)])
    experiment = Experiment.objects.create(
        client=shop.shop, name="popular vs ranked", salt="s1", status=Experiment.Status.RUNNING
    )
    Variant.objects.create(experiment=experiment, name="ranked", traffic_share=0.5)
    Variant.objects.create(
        experiment=experiment,
        name="popular-only",
        strategy=Variant.Strategy.POPULAR,
        traffic_share=0.5,
    )
    return shop, experiment


def test_each_user_gets_their_variant_every_time(experiment_shop) -> None:  # noqa: ANN001
    shop, experiment = experiment_shop
    ranked_user, popular_user = user_in(experiment, 0, 0.5), user_in(experiment, 0.5, 1)
    for user, variant in [(ranked_user, "ranked"), (popular_user, "popular-only")]:
        shop.events(event(f"{user}-view", user, "shoe-1"))
        bodies = [shop.get(f"users/{user}/recommendations/", k=2).json() for _ in range(3)]
        assert {body["variant"] for body in bodies} == {variant}
        impressions = Impression.objects.filter(user__external_id=user)
        assert impressions.count() == 3
        assert {i.variant.name for i in impressions} == {variant}
        assert {i.request_id for i in impressions} == {body["request_id"] for body in bodies}


def test_the_variant_strategy_is_applied(experiment_shop) -> None:  # noqa: ANN001
    shop, experiment = experiment_shop
    ranked_user, popular_user = user_in(experiment, 0, 0.5), user_in(experiment, 0.5, 1)
    shop.events(event("r-1", ranked_user, "shoe-1"), event("p-1", popular_user, "shoe-1"))
    ranked = shop.get(f"users/{ranked_user}/recommendations/", k=2).json()["items"]
    popular = shop.get(f"users/{popular_user}/recommendations/", k=2).json()["items"]
    assert ranked[0]["item_id"] == "shoe-2" and ranked[0]["source"] == "similar"
    assert popular[0]["item_id"] == "tea-1"
    assert {row["source"] for row in popular} <= {"popular", "new"}


def test_without_a_running_experiment_there_is_no_variant(experiment_shop) -> None:  # noqa: ANN001
    shop, experiment = experiment_shop
    Experiment.objects.filter(id=experiment.id).update(status=Experiment.Status.STOPPED)
    body = shop.get("users/u-1/recommendations/").json()
    assert body["variant"] is None
    assert Impression.objects.get(request_id=body["request_id"]).variant is None

"""POST events/: per-row errors, good rows kept, idempotent by event id, users on first sight."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.recommender.models import Event, ShopUser
from tests.recommender.conftest import ShopApiClient, event, item

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(shop: ShopApiClient) -> ShopApiClient:
    shop.items(item("sku-1", "Trail shoe"), item("sku-2", "Rain jacket"))
    return shop


def test_bad_rows_fail_alone_and_say_why(catalogue: ShopApiClient) -> None:
    now = timezone.now()
    body = catalogue.events(
        event("e-1", "u-1", "sku-1"),
        event("e-2", "u-1", "sku-404"),
        event("e-3", "u-1", "sku-1", kind="wishlist"),
        event("e-4", "u-1", "sku-1", at=now + timedelta(hours=2)),
        event("e-5", "u-1", "sku-1", kind="rating"),
        event("e-6", "u-1", "sku-1", kind="rating", value=-2),
        event("e-7", "u-1", "sku-1", kind="rating", value="NaN"),
        {"event_id": "e-8", "user_id": "u-1"},
        event("e-9", "u-2", "sku-2", kind="purchase", value=1),
        event("e-10", "u-1", "sku-1", at=now + timedelta(seconds=30)),  # within clock skew
    )
    assert [r["status"] for r in body["results"]] == [
        "created", "error", "error", "error", "error", "error", "error", "error", "created",
        "created",
    ]  # fmt: skip
    assert (body["created"], body["failed"]) == (3, 7)
    errors = [r["errors"] for r in body["results"]]
    assert errors[1] == {"item_id": ["no item 'sku-404' in this catalogue"]}
    assert "type" in errors[2]
    assert "future" in errors[3]["timestamp"][0]
    assert errors[4] == {"value": ["a rating needs a value"]}
    assert "value" in errors[5] and "value" in errors[6]
    assert {"item_id", "type", "timestamp"} <= set(errors[7])
    assert set(Event.objects.values_list("external_id", flat=True)) == {"e-1", "e-9", "e-10"}


def test_a_resent_batch_stores_nothing_twice(catalogue: ShopApiClient) -> None:
    batch = [event("e-1", "u-1", "sku-1"), event("e-2", "u-1", "sku-2", kind="click")]
    assert catalogue.events(*batch)["created"] == 2
    again = catalogue.events(*batch, event("e-3", "u-1", "sku-1"))
    assert [r["status"] for r in again["results"]] == ["duplicate", "duplicate", "created"]
    assert (again["created"], again["duplicate"]) == (1, 2)
    assert Event.objects.count() == 3


def test_the_same_event_twice_in_one_batch_is_stored_once(catalogue: ShopApiClient) -> None:
    body = catalogue.events(event("e-1", "u-1", "sku-1"), event("e-1", "u-1", "sku-1"))
    assert [r["status"] for r in body["results"]] == ["created", "duplicate"]
    assert Event.objects.count() == 1


def test_users_are_created_on_first_sight_once(catalogue: ShopApiClient) -> None:
    catalogue.events(event("e-1", "u-1", "sku-1"), event("e-2", "u-2", "sku-1"))
    catalogue.events(event("e-3", "u-1", "sku-2"))
    users = ShopUser.objects.filter(client=catalogue.shop)
    assert sorted(users.values_list("external_id", flat=True)) == ["u-1", "u-2"]
    assert Event.objects.filter(user__external_id="u-1").count() == 2


def test_events_on_a_removed_item_are_still_recorded(catalogue: ShopApiClient) -> None:
    catalogue.delete("items/sku-1/")
    body = catalogue.events(event("e-1", "u-1", "sku-1", kind="purchase"))
    assert body["created"] == 1


def test_a_batch_over_the_limit_is_refused_whole(catalogue: ShopApiClient, settings) -> None:  # noqa: ANN001
    settings.RECOMMENDER_MAX_BATCH_ROWS = 2
    rows = [event(f"e-{i}", "u-1", "sku-1") for i in range(3)]
    response = catalogue.post("events/", {"events": rows})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "batch_too_large"
    assert not Event.objects.exists()

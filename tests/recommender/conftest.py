"""Fixtures for the recommender API tests: a shop with its key, the item index, a clock."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.recommender.models import ShopClient
from apps.recommender.services import ITEM_INDEX
from ml.registry import indexes
from tests.recommender.factories import ShopClientFactory


class ShopApiClient:
    """What a shop's front-end holds: the API under /api/recommender/ and its key."""

    def __init__(self, shop: ShopClient, key: str) -> None:
        self.shop = shop
        self.http = APIClient()
        self.http.credentials(HTTP_X_API_KEY=key)

    def url(self, path: str) -> str:
        return f"/api/recommender/{path}"

    def get(self, path: str, **params: Any):  # noqa: ANN201
        return self.http.get(self.url(path), params)

    def post(self, path: str, body: Any):  # noqa: ANN201
        return self.http.post(self.url(path), body, format="json")

    def delete(self, path: str):  # noqa: ANN201
        return self.http.delete(self.url(path))

    def items(self, *rows: dict[str, Any]) -> dict[str, Any]:
        response = self.post("items/", {"items": list(rows)})
        assert response.status_code == 200, response.content
        return response.json()

    def events(self, *rows: dict[str, Any]) -> dict[str, Any]:
        response = self.post("events/", {"events": list(rows)})
        assert response.status_code == 200, response.content
        return response.json()

    def item_ids(self, path: str, **params: Any) -> list[str]:
        response = self.get(path, **params)
        assert response.status_code == 200, response.content
        return [row["item_id"] for row in response.json()["items"]]


def shop_api(name: str | None = None) -> ShopApiClient:
    shop = ShopClientFactory(**({"name": name} if name else {}))
    return ShopApiClient(shop, f"key-{shop.name}")


@pytest.fixture
def shop() -> ShopApiClient:
    return shop_api()


@pytest.fixture
def other_shop() -> ShopApiClient:
    return shop_api()


@pytest.fixture
def eager_index(monkeypatch: pytest.MonkeyPatch, artifacts_dir, django_capture_on_commit_callbacks):  # noqa: ANN001
    """Index sync tasks run in this process, right after the commit that queued them."""
    from config.celery import app

    monkeypatch.setitem(app.conf, "task_always_eager", True)

    class Runner:
        def __call__(self, action: Callable[[], Any]) -> Any:
            with django_capture_on_commit_callbacks(execute=True):
                return action()

    return Runner()


def indexed_ids() -> set[int]:
    return {int(i) for i in indexes.index_reader(name=ITEM_INDEX).get().ids()}


def wait_for_index(condition: Callable[[set[int]], bool], timeout_s: float = 60) -> None:
    """Until this process's reader shows an index that meets `condition` (it reloads in 0.5 s)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition(indexed_ids()):
            return
        time.sleep(0.1)
    raise AssertionError(f"index never reached the condition; holds {sorted(indexed_ids())}")


def event(
    event_id: str,
    user: str,
    item: str,
    kind: str = "view",
    at: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    return {
        "event_id": event_id,
        "user_id": user,
        "item_id": item,
        "type": kind,
        "timestamp": (at or timezone.now() - timedelta(minutes=5)).isoformat(),
        **extra,
    }


def item(external_id: str, title: str, category: str = "general", **extra: Any) -> dict[str, Any]:
    return {"external_id": external_id, "title": title, "category": category, **extra}


def external_ids(rows: Iterable[dict[str, Any]]) -> list[str]:
    return [row["item_id"] for row in rows]

"""A recommendations request costs a fixed, small number of SQL statements, whatever k and
the length of the user's history: the hot path has no per-item or per-candidate query.

Ids of recommendable items, popular lists and co-occurrence come from caches after the first
request; a statement added here is paid on every request under load (bench/rec_load.py).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.recommender.conftest import ShopApiClient, event, item, wait_for_index

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop_with_history(shop: ShopApiClient, eager_index) -> ShopApiClient:  # noqa: ANN001
    eager_index(
        lambda: shop.items(*[item(f"sku-{n}", f"Product {n}", f"cat-{n % 3}") for n in range(30)])
    )
    wait_for_index(lambda ids: len(ids) == 30)
    now = timezone.now()
    shop.events(
        *[
            event(f"e-{n}", f"u-{n % 4}", f"sku-{n % 30}", at=now - timedelta(minutes=n))
            for n in range(60)
        ]
    )
    return shop


@pytest.mark.parametrize("k", [3, 20])
def test_a_returning_user_costs_five_statements(shop_with_history: ShopApiClient, k: int) -> None:
    shop_with_history.item_ids("users/u-1/recommendations/", k=k)  # warms the caches
    with CaptureQueriesContext(connection) as statements:
        found = shop_with_history.item_ids("users/u-1/recommendations/", k=k)
    assert len(found) == min(k, 30 - 15)  # u-1 has seen 15 of the 30 items
    per_request = [
        q["sql"] for q in statements.captured_queries if "registry_modelversion" not in q["sql"]
    ]
    tables = [
        (sql.split()[0].upper(), sql.split('FROM "')[-1].split('"')[0] if "FROM" in sql else "")
        for sql in per_request
    ]
    # key -> client, running experiment?, the user's last events, candidate rows, impression
    assert tables == [
        ("SELECT", "recommender_shopclient"),
        ("SELECT", "recommender_experiment"),
        ("SELECT", "recommender_event"),
        ("SELECT", "recommender_item"),
        ("INSERT", ""),
    ], per_request

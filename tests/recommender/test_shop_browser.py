"""The demo shop in a real Chromium against a real Daphne process and the real REST API:
looking at a product records a view, and the "for you" row follows what the shopper did.

Set TESSERA_SCREENSHOT_DIR=/some/dir to keep screenshots of each step.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.chat.conftest import (  # noqa: F401 - fixtures used by name
    LiveServer,
    ws_browser,
    ws_chromium,
    ws_server_env,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 60_000  # the first request loads the encoder and the item index in the server


def shot(page, name: str) -> None:  # noqa: ANN001
    folder = os.environ.get("TESSERA_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"shop-{name}.png"), full_page=True)


@pytest.fixture
def shop_server(
    ws_chromium: Path,  # noqa: F811
    transactional_db: None,
    artifacts_dir: Path,
    tmp_path: Path,
    settings,  # noqa: ANN001
) -> Iterator[LiveServer]:
    from django.utils import timezone

    from apps.recommender.demo_data import load_demo_shop

    settings.RECOMMENDER_DEMO_SHOP = "demo-shop"
    load_demo_shop(now=timezone.now())  # catalogue, history, and the item index
    env = {**ws_server_env(artifacts_dir), "RECOMMENDER_DEMO_SHOP": "demo-shop"}
    server = LiveServer(env, tmp_path / "daphne.log")
    server.start()
    yield server
    server.stop()


def _row_items(page, row_id: str) -> list[str]:  # noqa: ANN001
    from playwright.sync_api import expect

    row = page.locator(f"#{row_id}")
    expect(row).to_have_attribute("data-state", "ready", timeout=TIMEOUT_MS)
    return (row.get_attribute("data-items") or "").split(",")


def test_clicking_products_changes_the_for_you_row(shop_server: LiveServer, ws_browser) -> None:  # noqa: ANN001, F811
    from playwright.sync_api import expect

    from apps.recommender.models import Event, Item

    page = ws_browser.new_page()
    page.goto(f"{shop_server.url}/shop/?category=Running")
    shopper = page.locator("#shopper-id").inner_text()
    first_row = _row_items(page, "for-you")
    assert len(first_row) >= 4  # a new shopper gets popular items
    shot(page, "1-home")

    # Open a product from the list: the page records the view and asks again.
    card = page.locator("#products a.product-card").first
    clicked = card.get_attribute("data-item")
    card.click()
    expect(page.locator("#product")).to_have_attribute("data-item", clicked)
    second_row = _row_items(page, "for-you")
    similar = _row_items(page, "similar")
    shot(page, "2-product")
    assert clicked not in similar and len(similar) >= 4
    assert second_row != first_row
    product = Item.objects.get(client__name="demo-shop", external_id=clicked)
    assert Event.objects.filter(user__external_id=shopper, item=product, type="view").exists()
    # The new row leans to what was viewed: most of it shares the product's category.
    categories = dict(
        Item.objects.filter(client=product.client, external_id__in=second_row).values_list(
            "external_id", "category"
        )
    )
    assert sum(c == product.category for c in categories.values()) >= len(second_row) // 2

    # Click a recommendation: a click event, then its page with another row.
    recommended = page.locator("#for-you a.rec-card").first
    target = recommended.get_attribute("data-item")
    recommended.click()
    expect(page.locator("#product")).to_have_attribute("data-item", target)
    third_row = _row_items(page, "for-you")
    shot(page, "3-recommended")
    assert third_row != second_row
    kinds = set(
        Event.objects.filter(user__external_id=shopper, item__external_id=target).values_list(
            "type", flat=True
        )
    )
    assert kinds == {"click", "view"}

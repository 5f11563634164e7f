"""The topic page draws its chart with data and alert markers, and one key stores a label.

Real Chromium against a real Daphne process; the charts are the vendored Chart.js and
chartjs-plugin-annotation.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from tests.chat.conftest import LiveServer, ws_browser, ws_chromium, ws_server_env  # noqa: F401
from tests.chat.test_widget_browser import shot
from tests.sentiment.dashboard_helpers import (
    PASSWORD,
    fired_alert,
    scored_article,
    user_with_role,
)
from tests.sentiment.factories import TopicFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TIMEOUT_MS = 30_000
ALERT_RED = (183, 28, 28)  # the marker's colour (#b71c1c), unlike the bars' #e53935


@pytest.fixture
def dash_server(
    ws_chromium: Path,  # noqa: F811
    transactional_db: None,
    artifacts_dir: Path,
    tmp_path: Path,
) -> Iterator[LiveServer]:
    server = LiveServer(ws_server_env(artifacts_dir), tmp_path / "daphne.log")
    server.start()
    yield server
    server.stop()


def _signed_in_page(browser, server: LiveServer, url: str):  # noqa: ANN001, ANN202
    user_with_role("analyst", username="ana")
    page = browser.new_page()
    page.goto(f"{server.url}{url}")  # the monitor sends the anonymous visitor to log in
    page.fill("#id_username", "ana")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url(f"**{url}")
    return page


def test_topic_page_draws_volumes_share_and_the_alert_marker(dash_server, ws_browser):  # noqa: F811
    from django.utils import timezone
    from playwright.sync_api import expect

    topic = TopicFactory(slug="acme", name="Acme Corp")
    now = timezone.now()
    for hours_ago in (5, 4, 3, 2):
        for sentiment in ("positive", "neutral", "neutral", "negative"):
            scored_article(
                topic, published_at=now - timedelta(hours=hours_ago), sentiment=sentiment
            )
    burst_at = now - timedelta(minutes=40)
    for i in range(12):
        scored_article(
            topic,
            published_at=burst_at,
            sentiment="negative",
            title=f"Acme Corp accused of accounting fraud, report {i}",
            source_name="Wire A",
        )
    alert = fired_alert(topic, fired_at=burst_at + timedelta(minutes=5))
    # One negative headline alone in a quiet slot: a 100 % share the chart must not draw.
    scored_article(topic, published_at=now - timedelta(minutes=90), sentiment="negative")

    page = _signed_in_page(ws_browser, dash_server, "/sentiment/topics/acme/?range=6h")

    expect(page.locator("#negative-headlines li").first).to_contain_text("accounting fraud")
    expect(page.locator(f"#alert-list li[data-alert='{alert.id}']")).to_be_visible()
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('timeline-chart'))",
        timeout=TIMEOUT_MS,
    )
    chart = page.evaluate(
        """(alertKey) => {
          const chart = Chart.getChart(document.getElementById('timeline-chart'));
          const sum = (label) => chart.data.datasets.find((d) => d.label === label)
            .data.reduce((a, b) => a + (b || 0), 0);
          const annotations = chart.options.plugins.annotation.annotations;
          return {
            labels: chart.data.datasets.map((d) => d.label),
            buckets: chart.data.labels.length,
            negative: sum('negative'), positive: sum('positive'), neutral: sum('neutral'),
            peakShare: Math.max(...chart.data.datasets[3].data.filter((v) => v !== null)),
            sparseShares: chart.data.datasets[3].data.filter((v, i) => v !== null && chart.data
              .datasets.slice(0, 3).reduce((n, d) => n + (d.data[i] || 0), 0) < 3).length,
            shares: chart.data.datasets[3].data.filter((v) => v !== null).length,
            annotationIds: Object.keys(annotations),
            marker: annotations[alertKey],
            markerPixel: Math.round(chart.scales.x.getPixelForValue(annotations[alertKey].xMin)),
            pluginRegistered: !!Chart.registry.plugins.get('annotation'),
          };
        }""",
        f"alert-{alert.id}",
    )
    assert chart["labels"] == ["positive", "neutral", "negative", "negative share %"]
    assert chart["buckets"] == 72  # 6 h in 5-minute buckets
    assert (chart["positive"], chart["neutral"], chart["negative"]) == (4, 8, 17)
    assert chart["peakShare"] == 100
    assert chart["shares"] > 0 and chart["sparseShares"] == 0  # no share line for 1-2 articles
    assert chart["pluginRegistered"]
    assert chart["annotationIds"] == [f"alert-{alert.id}"]
    assert chart["marker"]["type"] == "line"
    # The marker sits in the bucket the alert fired in: 45 of 72 five-minute buckets from the end.
    fired_index = chart["marker"]["xMin"]
    assert 72 - 9 <= fired_index <= 72 - 7
    # The plugin painted the marker: its colour runs down the canvas column at that x.
    red_pixels = page.evaluate(
        """([x, rgb]) => {
          const canvas = document.getElementById('timeline-chart');
          const scale = canvas.width / canvas.getBoundingClientRect().width;
          const column = Math.round(x * scale);
          const d = canvas.getContext('2d').getImageData(column, 0, 1, canvas.height).data;
          const near = (i) => [0, 1, 2].every((c) => Math.abs(d[i + c] - rgb[c]) < 8);
          let n = 0;
          for (let i = 0; i < d.length; i += 4) if (near(i)) n++;
          return n;
        }""",
        [chart["markerPixel"], list(ALERT_RED)],
    )
    assert red_pixels > 20
    shot(page, "sentiment-topic")


def test_a_key_press_stores_a_label_and_shows_the_next_article(dash_server, ws_browser):  # noqa: F811
    from django.utils import timezone
    from playwright.sync_api import expect

    from apps.sentiment.models import ArticleLabel

    now = timezone.now()
    first = scored_article(
        None,
        published_at=now,
        sentiment="positive",
        confidence=0.38,
        title="Lender beats forecasts but warns on bad loans",
    )
    second = scored_article(
        None,
        published_at=now,
        sentiment="neutral",
        confidence=0.52,
        title="Chipmaker holds annual shareholder meeting",
    )
    page = _signed_in_page(ws_browser, dash_server, "/sentiment/labelling/")
    expect(page.locator("#item-title")).to_have_text(first.title, timeout=TIMEOUT_MS)

    page.keyboard.press("3")  # negative: the model said positive

    expect(page.locator("#item-title")).to_have_text(second.title, timeout=TIMEOUT_MS)
    expect(page.locator("#label-flash")).to_contain_text("disagree")
    expect(page.locator(f"#recent-labels tr[data-article='{first.id}']")).to_have_class("disagree")
    shot(page, "sentiment-labelling")
    label = ArticleLabel.objects.get(article=first)
    assert (label.label, label.model_label, label.held_out) == ("negative", "positive", False)

    page.keyboard.press("h")  # hold this one out for comparing versions
    page.keyboard.press("u")
    expect(page.locator("#queue-empty")).to_be_visible(timeout=TIMEOUT_MS)
    label = ArticleLabel.objects.get(article=second)
    assert (label.label, label.model_label, label.held_out) == ("neutral", "neutral", True)

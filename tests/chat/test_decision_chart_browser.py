"""The registry's version page draws a chat model's trade-off curve and shows its points.

Real Chromium against a real Daphne process; the chart library is the vendored Chart.js.
"""

from __future__ import annotations

import pytest

from ml.training.decision import DecisionTargets, HeldOutScore, decision_points_choose
from tests.chat.test_widget_browser import TIMEOUT_MS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-test-password-2"  # noqa: S105 - a throwaway test user


def _version_with_points():  # noqa: ANN202
    from ml.registry.models import ModelVersion

    scores = [
        HeldOutScore(confidence=c / 20, in_scope=True, top1_correct=c > 8, top3_correct=c > 4)
        for c in range(20)
    ] + [HeldOutScore(0.1, False, False, False), HeldOutScore(0.3, False, False, False)]
    points = decision_points_choose(scores, targets=DecisionTargets(answer_precision=0.9))
    version = ModelVersion.objects.create(
        task="chat.intent",
        version=1,
        base_model="/models/minilm",
        status=ModelVersion.Status.READY,
        metrics={"decision": points.to_dict(), "decision_cv": {"folds": 3, "seconds": 1.0}},
    )
    return version, points


def test_version_page_draws_the_curve_and_shows_the_points(ws_live_server, ws_browser):  # noqa: F811
    from django.contrib.auth import get_user_model
    from playwright.sync_api import expect

    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    version, points = _version_with_points()
    page = ws_browser.new_page()
    url = f"/admin/registry/modelversion/{version.id}/change/"
    page.goto(f"{ws_live_server.url}/admin/login/?next={url}")
    page.fill("#id_username", "root")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    table = page.locator("#decision-points")
    expect(table).to_contain_text(f"{points.answer:.4f}", timeout=TIMEOUT_MS)
    expect(table).to_contain_text(f"{points.suggest:.4f}")
    canvas = page.locator("#decision-curve")
    box = canvas.bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0
    # Chart.js owns the canvas and drew the three curves and the two points' markers.
    labels = page.evaluate(
        "() => Chart.getChart(document.getElementById('decision-curve'))"
        ".data.datasets.map(d => d.label)"
    )
    assert labels[:3] == ["in-scope answered %", "answers wrong %", "unknown answered %"]
    assert labels[3] == f"answer point {points.answer:.3f}"
    drawn = page.evaluate(
        "() => { const c = document.getElementById('decision-curve');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n; }"
    )
    assert drawn > 1000  # non-transparent pixels: lines, axes and labels were painted

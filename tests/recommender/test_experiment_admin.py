"""Experiment admin: variant shares must add up to 1 and one experiment runs per client
(form errors, nothing saved), start/stop actions fix the salt, the report page shows figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from apps.recommender.models import EventType, Experiment, Variant
from tests.recommender.experiment_rows import T0, ab_experiment, event, impression, items, user
from tests.recommender.factories import ShopClientFactory

pytestmark = pytest.mark.django_db

ADD_URL = "admin:recommender_experiment_add"


@pytest.fixture
def staff(client):  # noqa: ANN001, ANN201
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-123456789")
    client.force_login(admin)
    return client


def _form(shop, *, name="exp", status="draft", salt="", shares=(0.5, 0.5), existing=()):  # noqa: ANN001, ANN202
    data = {
        "client": shop.pk,
        "name": name,
        "salt": salt,
        "attribution_window_hours": 24,
        "status": status,
        "variants-TOTAL_FORMS": len(shares),
        "variants-INITIAL_FORMS": len(existing),
        "variants-MIN_NUM_FORMS": 1,
        "variants-MAX_NUM_FORMS": 1000,
    }
    for i, share in enumerate(shares):
        data[f"variants-{i}-name"] = "AB"[i] if i < 2 else f"V{i}"
        data[f"variants-{i}-strategy"] = "ranked" if i == 0 else "popular"
        data[f"variants-{i}-traffic_share"] = share
        if i < len(existing):
            data[f"variants-{i}-id"] = existing[i]
            data[f"variants-{i}-experiment"] = ""
    return data


def test_shares_that_do_not_add_up_to_one_are_a_form_error(staff) -> None:  # noqa: ANN001
    shop = ShopClientFactory()
    response = staff.post(reverse(ADD_URL), _form(shop, shares=(0.5, 0.4)))
    assert response.status_code == 200
    assert "Traffic shares add up to 0.9; they must add up to 1." in response.content.decode()
    assert not Experiment.objects.exists()

    response = staff.post(reverse(ADD_URL), _form(shop, shares=(0.7, 0.3)))
    assert response.status_code == 302
    experiment = Experiment.objects.get()
    assert sorted(experiment.variants.values_list("traffic_share", flat=True)) == [0.3, 0.7]
    assert experiment.status == "draft" and len(experiment.salt) == 16  # random salt filled in


def test_a_second_running_experiment_for_a_client_is_a_form_error(staff) -> None:  # noqa: ANN001
    running = ab_experiment()
    response = staff.post(reverse(ADD_URL), _form(running.client, name="second", status="running"))
    assert response.status_code == 200
    assert f"{running.name} is already running" in response.content.decode()
    assert not Experiment.objects.filter(name="second").exists()

    other_shop = ShopClientFactory()  # another client may run its own
    response = staff.post(reverse(ADD_URL), _form(other_shop, name="second", status="running"))
    assert response.status_code == 302
    started = Experiment.objects.get(name="second")
    assert started.status == "running" and started.started_at is not None


def test_start_and_stop_actions_keep_the_salt_and_refuse_a_second_runner(staff) -> None:  # noqa: ANN001
    shop = ShopClientFactory()
    first = Experiment.objects.create(client=shop, name="first", salt="fixed-salt")
    Variant.objects.create(experiment=first, name="A", traffic_share=1.0)
    second = Experiment.objects.create(client=shop, name="second", salt="other")
    Variant.objects.create(experiment=second, name="A", traffic_share=0.6)  # shares: 0.6 only
    changelist = reverse("admin:recommender_experiment_changelist")

    staff.post(changelist, {"action": "start_selected", "_selected_action": [first.pk]})
    first.refresh_from_db()
    assert (first.status, first.salt) == ("running", "fixed-salt")
    assert first.started_at is not None

    response = staff.post(
        changelist, {"action": "start_selected", "_selected_action": [second.pk]}, follow=True
    )
    assert "add up to 0.6" in response.content.decode()
    Variant.objects.filter(experiment=second).update(traffic_share=1.0)
    response = staff.post(
        changelist, {"action": "start_selected", "_selected_action": [second.pk]}, follow=True
    )
    assert "first is already running for this client" in response.content.decode()
    second.refresh_from_db()
    assert second.status == "draft"

    # Once running, the salt and the client are shown, not editable.
    page = staff.get(reverse("admin:recommender_experiment_change", args=[first.pk]))
    assert 'name="salt"' not in page.content.decode()

    staff.post(changelist, {"action": "stop_selected", "_selected_action": [first.pk]})
    first.refresh_from_db()
    assert first.status == "stopped" and first.stopped_at is not None


def test_report_page_shows_each_variants_figures_and_the_verdict(staff) -> None:  # noqa: ANN001
    experiment = ab_experiment()
    a, b = experiment.variants.order_by("id")
    (shown,) = items(experiment, 1)
    alice, bob = user(experiment), user(experiment)
    impression(a, alice, [shown], T0)
    impression(b, bob, [shown], T0)
    event(bob, shown, EventType.CLICK, T0 + timedelta(minutes=1))

    response = staff.get(reverse("admin:recommender_experiment_report", args=[experiment.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'id="ab-figures"' in html and "vendor/chartjs/chart.umd.min.js" in html
    assert "not yet significant (p = 0.157)" in html  # 0/1 vs 1/1 clicked
    assert 'id="ab-chart-data"' in html


def test_report_page_is_staff_only(client) -> None:  # noqa: ANN001
    experiment = ab_experiment()
    response = client.get(reverse("admin:recommender_experiment_report", args=[experiment.pk]))
    assert response.status_code == 302 and "/login/" in response["Location"]

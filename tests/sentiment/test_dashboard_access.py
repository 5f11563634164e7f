"""Only analysts (staff in the "analyst" group, or superusers) see the monitor's pages and data."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from apps.sentiment.access import ANALYST_GROUP, analyst_group_ensure
from tests.sentiment.dashboard_helpers import user_with_role
from tests.sentiment.factories import TopicFactory

pytestmark = pytest.mark.django_db


def _pages() -> list[str]:
    topic = TopicFactory(slug="acme")
    return [
        reverse("sentiment:dashboard"),
        reverse("sentiment:dashboard-topic", args=[topic.slug]),
        reverse("sentiment:labelling"),
    ]


def _endpoints() -> list[str]:
    return [
        reverse("sentiment:dashboard-api-overview"),
        reverse("sentiment:dashboard-api-timeline", args=["acme"]),
        reverse("sentiment:labelling-api-queue"),
    ]


def _client_as(role: str | None) -> Client:
    client = Client()
    if role is not None:
        client.force_login(user_with_role(role))
    return client


def test_the_analyst_group_exists_after_migrate_with_label_permissions() -> None:
    group = Group.objects.get(name=ANALYST_GROUP)
    codenames = set(group.permissions.values_list("codename", flat=True))
    assert {
        "view_article",
        "add_articlelabel",
        "change_articlelabel",
        "view_modelversion",
    } <= codenames
    assert analyst_group_ensure().id == group.id  # running it again changes nothing
    assert Group.objects.filter(name=ANALYST_GROUP).count() == 1


def test_anonymous_visitors_are_sent_to_login() -> None:
    client = _client_as(None)
    for url in _pages():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login")), url


@pytest.mark.parametrize("role", ["customer", "agent"])
def test_customers_and_agents_get_403_on_pages(role: str) -> None:
    client = _client_as(role)
    for url in _pages():
        assert client.get(url).status_code == 403, url


@pytest.mark.parametrize("role", [None, "customer", "agent"])
def test_data_endpoints_refuse_non_analysts_with_json(role: str | None) -> None:
    TopicFactory(slug="acme")
    client = _client_as(role)
    for url in _endpoints():
        response = client.get(url)
        assert response.status_code == 403, url
        assert response.json()["error"]["code"] in {"not_authenticated", "permission_denied"}
    response = client.post(
        reverse("sentiment:labelling-api-label"),
        {"article": 1, "label": "negative"},
        content_type="application/json",
    )
    assert response.status_code == 403


@pytest.mark.parametrize("role", ["analyst", "superuser"])
def test_analysts_and_superusers_see_pages_and_data(role: str) -> None:
    client = _client_as(role)
    for url in _pages():
        assert client.get(url).status_code == 200, url
    for url in _endpoints():
        assert client.get(url).status_code == 200, url


def test_an_analyst_who_is_no_longer_staff_loses_access() -> None:
    user = user_with_role("analyst")
    user.is_staff = False
    user.save()
    client = Client()
    client.force_login(user)
    assert client.get(reverse("sentiment:dashboard")).status_code == 403

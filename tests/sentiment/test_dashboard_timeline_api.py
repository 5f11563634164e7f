"""The topic timeline endpoint: what the chart draws, as JSON; bad queries get a JSON 4xx."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.sentiment.dashboard_helpers import fired_alert, scored_article, user_with_role
from tests.sentiment.factories import TopicFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst_client() -> Client:
    client = Client()
    client.force_login(user_with_role("analyst"))
    return client


def test_timeline_has_buckets_alerts_and_negative_headlines(analyst_client: Client) -> None:
    topic = TopicFactory(slug="acme", name="Acme")
    now = timezone.now()
    # Published now: inside the last bucket whatever the minute (the view reads the clock later).
    bad = scored_article(topic, published_at=now, sentiment="negative", source_name="Wire A")
    scored_article(topic, published_at=now, sentiment="positive")
    scored_article(topic, published_at=now - timedelta(hours=7), sentiment="negative")  # before
    alert = fired_alert(topic, fired_at=now - timedelta(minutes=2))

    response = analyst_client.get(
        reverse("sentiment:dashboard-api-timeline", args=["acme"]), {"range": "6h"}
    )

    assert response.status_code == 200
    body = response.json()
    assert body["topic"] == {"slug": "acme", "name": "Acme"}
    assert (body["range"], body["bucket_seconds"], len(body["buckets"])) == ("6h", 300, 72)
    assert sum(b["negative"] for b in body["buckets"]) == 1
    assert sum(b["positive"] for b in body["buckets"]) == 1
    assert body["buckets"][-1]["negative_share"] == 0.5
    assert body["share_min_articles"] == 3  # the chart leaves out shares of sparser slots
    assert [a["id"] for a in body["alerts"]] == [alert.id]
    assert body["negative_headlines"][0]["article_id"] == bad.id
    assert body["negative_headlines"][0]["url"] == bad.url
    assert body["sources"] == ["Wire A"]


def test_source_filter_applies_to_the_endpoint(analyst_client: Client) -> None:
    topic = TopicFactory(slug="acme")
    now = timezone.now()
    scored_article(topic, published_at=now, sentiment="negative", source_name="Wire A")
    scored_article(topic, published_at=now, sentiment="negative", source_name="Wire B")

    body = analyst_client.get(
        reverse("sentiment:dashboard-api-timeline", args=["acme"]), {"source": "Wire B"}
    ).json()

    assert body["source"] == "Wire B"
    assert sum(b["negative"] for b in body["buckets"]) == 1
    assert [h["source"] for h in body["negative_headlines"]] == ["Wire B"]


def test_unknown_range_is_a_400_naming_the_field(analyst_client: Client) -> None:
    TopicFactory(slug="acme")
    response = analyst_client.get(
        reverse("sentiment:dashboard-api-timeline", args=["acme"]), {"range": "2y"}
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert "range" in response.json()["error"]["fields"]
    page = analyst_client.get(reverse("sentiment:dashboard-topic", args=["acme"]), {"range": "2y"})
    assert page.status_code == 400


def test_unknown_topic_is_a_json_404(analyst_client: Client) -> None:
    response = analyst_client.get(reverse("sentiment:dashboard-api-timeline", args=["nope"]))
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_overview_endpoint_lists_active_topics_with_their_state(analyst_client: Client) -> None:
    topic = TopicFactory(slug="acme")
    scored_article(topic, published_at=timezone.now(), sentiment="negative")
    fired_alert(topic, fired_at=timezone.now())

    body = analyst_client.get(reverse("sentiment:dashboard-api-overview")).json()

    assert body["topics"][0]["slug"] == "acme"
    assert body["topics"][0]["articles_last_hour"] == 1
    assert body["topics"][0]["negative_share_last_hour"] == 1.0
    assert body["topics"][0]["firing_alerts"] == 1


def test_overview_page_puts_the_firing_topic_first_with_a_link(analyst_client: Client) -> None:
    TopicFactory(slug="calm", name="Aardvark Calm")
    surging = TopicFactory(slug="surging", name="Zebra Surging")
    scored_article(surging, published_at=timezone.now(), sentiment="negative")
    fired_alert(surging, fired_at=timezone.now())

    page = analyst_client.get(reverse("sentiment:dashboard")).content.decode()

    assert page.index("Zebra Surging") < page.index("Aardvark Calm")
    assert 'class="firing"' in page
    assert reverse("sentiment:dashboard-topic", args=["surging"]) in page

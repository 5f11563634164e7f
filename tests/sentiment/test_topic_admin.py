"""Topic admin: comma-separated terms, validation as form errors, match counts and reasons."""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.sentiment.models import Topic, TopicMatch
from tests.sentiment.factories import ArticleFactory, TopicFactory, TopicMatchFactory

pytestmark = pytest.mark.django_db


def form_data(**overrides: str) -> dict[str, str]:
    return {
        "name": "Ford",
        "slug": "ford",
        "kind": "company",
        "aliases": "Ford, Ford Motor Company, ford",
        "tickers": "$f",
        "keywords": "",
        "description": "",
        "similarity_threshold": "",
        "active": "on",
        **overrides,
    }


def test_terms_typed_comma_separated_are_saved_as_clean_lists(admin_client):
    response = admin_client.post(reverse("admin:sentiment_topic_add"), form_data())

    assert response.status_code == 302, response.content.decode()[:2000]
    topic = Topic.objects.get(slug="ford")
    assert topic.aliases == ["Ford", "Ford Motor Company"]
    assert topic.tickers == ["F"]
    assert topic.keywords == []
    page = admin_client.get(reverse("admin:sentiment_topic_change", args=[topic.id]))
    assert 'value="Ford, Ford Motor Company"' in page.content.decode()


def test_a_bad_ticker_or_a_topic_that_cannot_match_is_a_form_error(admin_client):
    bad = admin_client.post(reverse("admin:sentiment_topic_add"), form_data(tickers="TS LA"))
    assert bad.status_code == 200
    assert "is not a ticker" in str(bad.context["adminform"].form.errors["tickers"])

    empty = admin_client.post(
        reverse("admin:sentiment_topic_add"), form_data(aliases="", tickers=" , ")
    )
    assert empty.status_code == 200
    assert "no article can match" in str(empty.context["adminform"].form.non_field_errors())
    assert not Topic.objects.exists()


def test_list_counts_matches_and_change_page_previews_them_with_reasons(admin_client):
    topic = TopicFactory(name="Acme", aliases=["Acme"], keywords=["anvil"])
    TopicMatchFactory(
        topic=topic,
        article=ArticleFactory(title="Acme recalls rockets"),
        method=TopicMatch.Method.ALIAS,
        matched_text="Acme",
    )
    TopicMatchFactory(
        topic=topic,
        article=ArticleFactory(title="Roadrunner sightings soar"),
        method=TopicMatch.Method.EMBEDDING,
        matched_text="",
        score=0.4123,
    )
    TopicFactory(name="Quiet", aliases=["Quiet"])

    listing = admin_client.get(reverse("admin:sentiment_topic_changelist")).content.decode()
    assert '<td class="field-match_count">2</td>' in listing
    assert '<td class="field-match_count">0</td>' in listing
    assert reverse("admin:sentiment_model_versions") in listing

    page = admin_client.get(reverse("admin:sentiment_topic_change", args=[topic.id]))
    html = page.content.decode()
    assert "Acme recalls rockets" in html and "alias “Acme”" in html
    assert "Roadrunner sightings soar" in html and "similar to the description (0.41)" in html

"""The labelling queue serves least confident first; labels are stored with the model's view."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.sentiment.models import ArticleLabel
from tests.sentiment.dashboard_helpers import scored_article, user_with_role

pytestmark = pytest.mark.django_db


@pytest.fixture
def analyst() -> object:
    return user_with_role("analyst")


@pytest.fixture
def client(analyst) -> Client:  # noqa: ANN001
    client = Client(enforce_csrf_checks=True)
    client.force_login(analyst)
    client.get(reverse("sentiment:labelling"))  # sets the CSRF cookie as the page would
    return client


def _post(client: Client, body: object, **kwargs: object):  # noqa: ANN202
    return client.post(
        reverse("sentiment:labelling-api-label"),
        body,
        content_type="application/json",
        HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value,
        **kwargs,
    )


def test_queue_is_unlabelled_scored_articles_least_confident_first(client: Client) -> None:
    now = timezone.now()
    sure = scored_article(None, published_at=now, sentiment="positive", confidence=0.95)
    unsure = scored_article(None, published_at=now, sentiment="negative", confidence=0.41)
    middle = scored_article(None, published_at=now, sentiment="neutral", confidence=0.6)
    scored_article(None, published_at=now)  # not scored: nothing to correct yet
    done = scored_article(None, published_at=now, sentiment="neutral", confidence=0.35)
    ArticleLabel.objects.create(article=done, label="neutral", model_label="neutral")

    body = client.get(reverse("sentiment:labelling-api-queue")).json()

    assert [i["article_id"] for i in body["items"]] == [unsure.id, middle.id, sure.id]
    assert body["items"][0]["probabilities"]["negative"] == pytest.approx(0.8)
    assert body["progress"] == {"unlabelled": 3, "labelled": 1, "disagreements": 0, "held_out": 0}
    skipped = client.get(
        reverse("sentiment:labelling-api-queue"), {"exclude": [unsure.id], "limit": 1}
    ).json()
    assert [i["article_id"] for i in skipped["items"]] == [middle.id]


def test_a_label_is_stored_with_what_the_model_said(client: Client, analyst) -> None:  # noqa: ANN001
    article = scored_article(None, published_at=timezone.now(), sentiment="positive")

    response = _post(client, {"article": article.id, "label": "negative", "held_out": True})

    assert response.status_code == 201
    assert response.json()["disagrees"] is True
    label = ArticleLabel.objects.get(article=article)
    assert (label.label, label.model_label, label.held_out) == ("negative", "positive", True)
    assert label.labelled_by == analyst
    assert response.json()["progress"]["disagreements"] == 1


def test_relabelling_corrects_the_label_and_keeps_the_first_model_view(client: Client) -> None:
    article = scored_article(None, published_at=timezone.now(), sentiment="neutral")
    _post(client, {"article": article.id, "label": "negative"})
    article.sentiment = "negative"  # a newer model version re-scored it
    article.save()

    response = _post(client, {"article": article.id, "label": "neutral"})

    assert response.status_code == 201
    assert response.json()["disagrees"] is False
    assert ArticleLabel.objects.filter(article=article).count() == 1
    label = ArticleLabel.objects.get(article=article)
    assert (label.label, label.model_label, label.held_out) == ("neutral", "neutral", False)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"article": 1, "label": "bullish"}, "label"),
        ({"label": "negative"}, "article"),
        ({"article": "abc", "label": "negative"}, "article"),
        ({"article": 1, "label": "negative", "held_out": "maybe"}, "held_out"),
        (["negative"], "non_field_errors"),
    ],
)
def test_bad_input_is_a_400_with_the_field(client: Client, body: object, field: str) -> None:
    response = _post(client, body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert field in response.json()["error"]["fields"]
    assert not ArticleLabel.objects.exists()


def test_malformed_json_is_a_400(client: Client) -> None:
    response = _post(client, "{not json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_unknown_article_is_a_404(client: Client) -> None:
    response = _post(client, {"article": 999999, "label": "negative"})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_without_the_csrf_token_nothing_is_stored(client: Client) -> None:
    article = scored_article(None, published_at=timezone.now(), sentiment="neutral")
    response = client.post(
        reverse("sentiment:labelling-api-label"),
        {"article": article.id, "label": "negative"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert not ArticleLabel.objects.exists()

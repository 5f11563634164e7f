"""Labels in admin: disagreements filterable, held-out toggled in bulk, model's view kept."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.sentiment.models import ArticleLabel
from tests.sentiment.dashboard_helpers import scored_article, user_with_role

pytestmark = pytest.mark.django_db


def _label(label: str, model_label: str, title: str) -> ArticleLabel:
    article = scored_article(None, published_at=timezone.now(), sentiment=model_label, title=title)
    return ArticleLabel.objects.create(article=article, label=label, model_label=model_label)


def test_disagreement_filter_and_hold_out_action() -> None:
    disagree = _label("negative", "positive", "Lender misses on bad loans")
    agree = _label("neutral", "neutral", "Chipmaker holds its annual meeting")
    client = Client()
    client.force_login(user_with_role("superuser"))
    url = reverse("admin:sentiment_articlelabel_changelist")

    page = client.get(url, {"agreement": "disagree"}).content.decode()
    assert disagree.article.title in page and agree.article.title not in page

    response = client.post(url, {"action": "hold_out", "_selected_action": [disagree.id, agree.id]})
    assert response.status_code == 302
    assert ArticleLabel.objects.filter(held_out=True).count() == 2


def test_an_analyst_can_label_in_admin_and_the_models_view_is_recorded() -> None:
    article = scored_article(None, published_at=timezone.now(), sentiment="positive")
    analyst = user_with_role("analyst")
    client = Client()
    client.force_login(analyst)

    response = client.post(
        reverse("admin:sentiment_articlelabel_add"),
        {"article": article.id, "label": "negative", "held_out": "on"},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    label = ArticleLabel.objects.get(article=article)
    assert (label.label, label.model_label, label.labelled_by) == ("negative", "positive", analyst)

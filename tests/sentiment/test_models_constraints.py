"""The article and alert invariants hold in the database, not only in forms."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from apps.sentiment.models import AlertRule, Subscription
from tests.sentiment.factories import ArticleFactory, TopicFactory

pytestmark = pytest.mark.django_db


def test_same_canonical_url_is_stored_once() -> None:
    ArticleFactory(url="https://n.example/x", canonical_url="https://n.example/x")
    with pytest.raises(IntegrityError), transaction.atomic():
        ArticleFactory(url="https://n.example/x?utm=1", canonical_url="https://n.example/x")


def test_articles_without_url_do_not_collide() -> None:
    ArticleFactory(url="", canonical_url="")
    ArticleFactory(url="", canonical_url="")


def test_subscription_needs_a_recipient() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        Subscription.objects.create(email="")


def test_rule_defaults_fire_only_on_volume() -> None:
    rule = AlertRule.objects.create(name="r", topic=TopicFactory())
    assert rule.min_articles >= 2

"""Users by role and scored, topic-matched articles for the dashboard and labelling tests."""

from __future__ import annotations

from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from apps.sentiment.access import ANALYST_GROUP
from apps.sentiment.models import Alert, AlertRule, Article, Topic
from tests.sentiment.factories import ArticleFactory, TopicMatchFactory

PASSWORD = "a-long-test-password-7"  # noqa: S105 - throwaway test users

PROBABILITIES = {
    "positive": (0.8, 0.15, 0.05),
    "neutral": (0.1, 0.8, 0.1),
    "negative": (0.05, 0.15, 0.8),
}


def user_with_role(role: str, username: str | None = None):  # noqa: ANN201
    """`analyst` (staff in the group), `agent` (staff, not in it), `customer`, `superuser`."""
    users = get_user_model().objects
    username = username or f"{role}-user"
    if role == "superuser":
        return users.create_superuser(username, f"{username}@example.com", PASSWORD)
    user = users.create_user(username, f"{username}@example.com", PASSWORD)
    if role in ("analyst", "agent"):
        user.is_staff = True
        user.save()
    if role == "analyst":
        user.groups.add(Group.objects.get(name=ANALYST_GROUP))
    return user


def scored_article(
    topic: Topic | None,
    *,
    published_at: datetime,
    sentiment: str = "",
    confidence: float | None = None,
    source_name: str = "",
    title: str | None = None,
) -> Article:
    """An article with the model's prediction (none when `sentiment` is empty) about `topic`."""
    extra = {"title": title} if title else {}
    if sentiment:
        p_pos, p_neu, p_neg = PROBABILITIES[sentiment]
        top = confidence if confidence is not None else max(p_pos, p_neu, p_neg)
        extra.update(
            sentiment=sentiment,
            p_positive=p_pos,
            p_neutral=p_neu,
            p_negative=p_neg,
            confidence=top,
        )
    article = ArticleFactory(published_at=published_at, source_name=source_name, **extra)
    if topic is not None:
        TopicMatchFactory(topic=topic, article=article, published_at=published_at)
    return article


def fired_alert(topic: Topic, *, fired_at: datetime, resolved_at: datetime | None = None) -> Alert:
    rule, _ = AlertRule.objects.get_or_create(name=f"surge {topic.slug}", topic=topic)
    return Alert.objects.create(
        rule=rule,
        topic=topic,
        state=Alert.State.RESOLVED if resolved_at else Alert.State.FIRING,
        severity=rule.severity,
        window_start=fired_at,
        window_end=fired_at,
        fired_at=fired_at,
        resolved_at=resolved_at,
        evidence={"negative": 9},
    )

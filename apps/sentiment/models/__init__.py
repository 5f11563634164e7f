"""News articles and their sentiment, topics, alert rules and the email outbox."""

from apps.sentiment.models.alerts import Alert, AlertRule, EmailOutbox, Subscription
from apps.sentiment.models.articles import (
    Article,
    ArticleLabel,
    FeedSource,
    IngestClient,
    Sentiment,
)
from apps.sentiment.models.topics import Topic, TopicMatch

__all__ = [
    "Alert",
    "AlertRule",
    "Article",
    "ArticleLabel",
    "EmailOutbox",
    "FeedSource",
    "IngestClient",
    "Sentiment",
    "Subscription",
    "Topic",
    "TopicMatch",
]

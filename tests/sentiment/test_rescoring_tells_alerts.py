"""A re-scoring that changes articles' labels tells the alerts (their topics' shares moved).

New articles are announced once, by articles_understand after matching, not by the store.
"""

from __future__ import annotations

import pytest

from apps.sentiment.models import Article
from apps.sentiment.signals import articles_understood
from apps.sentiment.understanding.scoring import article_predictions_store, new_articles_scoring
from ml.registry.plugins import ScoredItem
from tests.registry.factories import ModelVersionFactory
from tests.sentiment.factories import ArticleFactory, TopicMatchFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def understood() -> list[dict]:
    calls: list[dict] = []

    def record(sender, **kwargs):  # noqa: ANN001, ANN202
        calls.append({"article_ids": kwargs["article_ids"], "topic_ids": kwargs["topic_ids"]})

    articles_understood.connect(record, dispatch_uid="test-rescoring-understood")
    yield calls
    articles_understood.disconnect(dispatch_uid="test-rescoring-understood")


def scored(article: Article, label: str, version) -> ScoredItem:  # noqa: ANN001
    others = [name for name in ("positive", "neutral", "negative") if name != label]
    return ScoredItem(
        item_id=article.id,
        label=label,
        confidence=0.8,
        probabilities=((label, 0.8), (others[0], 0.15), (others[1], 0.05)),
        version_id=version.id,
        version=version.version,
    )


def test_changed_labels_are_announced_with_their_topics_after_commit(
    understood, django_capture_on_commit_callbacks
):
    version = ModelVersionFactory(task="sentiment.headline")
    flipped = ArticleFactory(sentiment="neutral")
    same = ArticleFactory(sentiment="negative")
    match = TopicMatchFactory(article=flipped)

    with django_capture_on_commit_callbacks(execute=True):
        article_predictions_store(
            [scored(flipped, "negative", version), scored(same, "negative", version)]
        )

    flipped.refresh_from_db()
    assert (flipped.sentiment, flipped.p_negative, flipped.confidence) == ("negative", 0.8, 0.8)
    assert flipped.sentiment_version_id == version.id and flipped.scored_at is not None
    assert understood == [{"article_ids": [flipped.id], "topic_ids": [match.topic_id]}]


def test_scoring_new_articles_leaves_the_announcement_to_the_caller(
    understood, django_capture_on_commit_callbacks
):
    version = ModelVersionFactory(task="sentiment.headline")
    article = ArticleFactory()

    with django_capture_on_commit_callbacks(execute=True), new_articles_scoring():
        article_predictions_store([scored(article, "positive", version)])

    article.refresh_from_db()
    assert article.sentiment == "positive" and article.p_positive == 0.8
    assert understood == []

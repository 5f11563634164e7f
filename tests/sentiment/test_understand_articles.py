"""Understanding new articles in-process: topic reasons, embedding matches, the signal, no model.

Scoring with a served model on a real worker is tests/sentiment/test_scoring_on_worker.py.
"""

from __future__ import annotations

import pytest

from apps.sentiment.models import Article, TopicMatch
from apps.sentiment.signals import articles_understood
from apps.sentiment.understanding.services import articles_understand, topic_matches_refresh
from tests.sentiment.factories import ArticleFactory, TopicFactory

pytestmark = pytest.mark.django_db

CHIPS = "Semiconductor makers, chip factories and the global shortage of computer chips"


@pytest.fixture
def understood() -> list[dict]:
    calls: list[dict] = []

    def record(sender, **kwargs):  # noqa: ANN001, ANN202
        calls.append({"article_ids": kwargs["article_ids"], "topic_ids": kwargs["topic_ids"]})

    articles_understood.connect(record, dispatch_uid="test-understood")
    yield calls
    articles_understood.disconnect(dispatch_uid="test-understood")


def matches() -> dict[tuple[int, int], tuple[str, str, float | None]]:
    return {
        (m.article_id, m.topic_id): (m.method, m.matched_text, m.score)
        for m in TopicMatch.objects.all()
    }


def test_articles_match_by_rules_and_by_meaning_and_alerts_hear_after_commit(
    settings, artifacts_dir, understood, django_capture_on_commit_callbacks
):
    ford = TopicFactory(name="Ford", aliases=["Ford", "Ford Motor"], tickers=["F"])
    chips = TopicFactory(
        name="Chip supply", aliases=[], keywords=["semiconductor"], description=CHIPS
    )
    TopicFactory(name="Dormant", aliases=["Ford"], active=False)
    by_alias = ArticleFactory(title="Ford recalls 300,000 pickup trucks over brake fault")
    by_ticker = ArticleFactory(title="F shares slide after the recall")
    by_keyword = ArticleFactory(title="Semiconductor stocks rally", body="Demand for phones.")
    by_meaning = ArticleFactory(
        title="Chipmaker warns that wafer supply will stay tight into next year",
        body="Foundries cannot keep up with orders for processors used in cars and phones.",
    )
    unrelated = ArticleFactory(title="Bakery chain opens twenty new stores in the north")
    ids = [a.id for a in (by_alias, by_ticker, by_keyword, by_meaning, unrelated)]

    with django_capture_on_commit_callbacks(execute=True):
        result = articles_understand(article_ids=ids)

    found = matches()
    assert found[(by_alias.id, ford.id)] == ("alias", "Ford", None)
    assert found[(by_ticker.id, ford.id)] == ("ticker", "F", None)
    assert found[(by_keyword.id, chips.id)] == ("keyword", "semiconductor", None)
    method, text, score = found[(by_meaning.id, chips.id)]
    assert (method, text) == (
        "embedding",
        "",
    ) and score >= settings.SENTIMENT_TOPIC_SIMILARITY_THRESHOLD
    assert not any(article == unrelated.id for article, _ in found)
    assert len(found) == 4  # the inactive topic matched nothing
    # Rule matches are announced first (cheap, per chunk), matches by meaning after embedding.
    assert understood == [
        {
            "article_ids": sorted([by_alias.id, by_ticker.id, by_keyword.id]),
            "topic_ids": sorted([ford.id, chips.id]),
        },
        {"article_ids": [by_meaning.id], "topic_ids": [chips.id]},
    ]
    assert (result.articles, result.matches, result.scored, result.version) == (5, 4, 0, None)
    # No production sentiment.headline yet: unscored until one is promoted.
    assert not Article.objects.exclude(sentiment="").exists()
    assert not Article.objects.filter(scored_at__isnull=False).exists()

    # A redelivery writes the same rows; no duplicate, same reasons.
    with django_capture_on_commit_callbacks(execute=True):
        articles_understand(article_ids=ids)
    assert matches() == found


def test_a_topics_own_threshold_overrides_the_default(artifacts_dir):
    strict = TopicFactory(
        name="Strict chips", aliases=[], description=CHIPS, similarity_threshold=0.99
    )
    article = ArticleFactory(title="Chipmaker warns that wafer supply will stay tight")

    articles_understand(article_ids=[article.id])

    assert not TopicMatch.objects.filter(topic=strict).exists()


def test_editing_a_topic_rematches_the_recent_window(
    artifacts_dir, understood, django_capture_on_commit_callbacks
):
    topic = TopicFactory(name="Acme", aliases=["Acme"])
    acme = ArticleFactory(title="Acme profit warning hits shares")
    globex = ArticleFactory(title="Globex wins a defence contract")
    articles_understand(article_ids=[acme.id, globex.id])
    assert set(matches()) == {(acme.id, topic.id)}
    understood.clear()

    topic.aliases = ["Globex"]
    topic.save()
    with django_capture_on_commit_callbacks(execute=True):
        result = topic_matches_refresh(topic=topic)

    assert matches() == {(globex.id, topic.id): ("alias", "Globex", None)}
    assert (result.matched, result.added, result.removed) == (1, 1, 1)
    assert understood == [{"article_ids": [globex.id], "topic_ids": [topic.id]}]

"""New articles are scored on a real `gpu` worker with the production model, tagged with it.

Before any promotion they stay unscored (but matched); a promotion re-scores the recent window,
and the next promotion does it again with the newer version.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from apps.sentiment.models import Article, TopicMatch
from apps.sentiment.signals import articles_ingested
from apps.sentiment.understanding.training import HEADLINE_TASK
from ml.registry import services
from ml.registry.models import ModelVersion, ScoringRun
from tests.conftest import TINY_HYPERPARAMETERS
from tests.sentiment.factories import ArticleFactory, TopicFactory

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_until(condition: Callable[[], bool], worker, timeout_s: float = 480) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        assert worker.poll() is None, worker.log_path.read_text()[-3000:]
        time.sleep(0.3)
    raise AssertionError(f"condition not met:\n{worker.log_path.read_text()[-4000:]}")


def train_and_promote(tiny_model_dir) -> ModelVersion:  # noqa: ANN001
    queued = services.model_version_queue(
        task=HEADLINE_TASK,
        base_model=str(tiny_model_dir),
        hyperparameters=TINY_HYPERPARAMETERS,
        enqueue=False,
    )
    version = services.model_version_train(version_id=queued.id)
    assert version.status == ModelVersion.Status.READY, version.error
    assert version.dataset_size >= 200  # the seed headlines, with no analyst label yet
    return services.model_version_promote(version=version)


def assert_scored_by(article: Article, version: ModelVersion) -> None:
    article.refresh_from_db()
    probabilities = {
        "positive": article.p_positive,
        "neutral": article.p_neutral,
        "negative": article.p_negative,
    }
    assert article.sentiment_version_id == version.id and article.scored_at is not None
    assert article.sentiment == max(probabilities, key=probabilities.get)
    assert sum(probabilities.values()) == pytest.approx(1.0, abs=2e-3)
    assert article.confidence == pytest.approx(max(probabilities.values()), abs=1e-4)


def test_articles_are_scored_on_the_worker_and_rescored_after_each_promotion(
    celery_worker_process, tiny_model_dir
):
    topic = TopicFactory(name="Acme", aliases=["Acme"])
    early = [
        ArticleFactory(title="Acme shares plunge after profit warning"),
        ArticleFactory(title="Acme raises dividend after record year"),
    ]
    articles_ingested.send(sender=Article, article_ids=[a.id for a in early])

    # No model yet: matched (so the dashboard counts them) but left unscored.
    wait_until(lambda: TopicMatch.objects.filter(topic=topic).count() == 2, celery_worker_process)
    assert not Article.objects.filter(scored_at__isnull=False).exists()

    v1 = train_and_promote(tiny_model_dir)
    run = ScoringRun.objects.get(task=HEADLINE_TASK, version=v1)
    wait_until(
        lambda: ScoringRun.objects.get(id=run.id).status in ("done", "failed"),
        celery_worker_process,
    )
    run.refresh_from_db()
    assert (run.status, run.total, run.done) == ("done", 2, 2), run.error
    for article in early:
        assert_scored_by(article, v1)

    late = ArticleFactory(title="Acme names a new chief executive")
    articles_ingested.send(sender=Article, article_ids=[late.id])
    # Scores commit before the matching step (which embeds the article first): wait for both.
    wait_until(
        lambda: (
            Article.objects.filter(id=late.id, sentiment_version=v1).exists()
            and TopicMatch.objects.filter(topic=topic, article=late).exists()
        ),
        celery_worker_process,
    )
    assert_scored_by(late, v1)
    assert TopicMatch.objects.filter(topic=topic, article=late, method="alias").exists()

    v2 = train_and_promote(tiny_model_dir)
    wait_until(
        lambda: Article.objects.filter(sentiment_version=v2).count() == 3, celery_worker_process
    )
    for article in [*early, late]:
        assert_scored_by(article, v2)

    # Editing the topic in admin re-matches the recent window on the worker.
    topic.aliases = ["chief executive"]
    topic.save()
    wait_until(
        lambda: (
            list(TopicMatch.objects.filter(topic=topic).values_list("article_id", "matched_text"))
            == [(late.id, "chief executive")]
        ),
        celery_worker_process,
    )

"""The demo re-scores after its in-process promotion itself: nothing is left queued for its one
worker to do ahead of the replayed news (a queued run re-scored the history before the burst)."""

from __future__ import annotations

import pytest

from apps.core.demo import demo_rescore_now
from apps.sentiment.models import Article
from ml.registry.models import ScoringRun
from ml.registry.scoring import scoring_run_execute
from tests.sentiment.factories import ArticleFactory
from tests.sentiment.test_scoring_on_worker import train_and_promote

pytestmark = pytest.mark.django_db


def test_the_promotions_rescoring_runs_in_the_demo_process(tiny_model_dir, artifacts_dir):
    articles = [ArticleFactory(title=f"Acme update number {n}") for n in range(3)]
    version = train_and_promote(tiny_model_dir)
    run = ScoringRun.objects.get(version=version)
    assert run.status == ScoringRun.Status.QUEUED

    assert demo_rescore_now(version_id=version.id) == 3

    run.refresh_from_db()
    assert (run.status, run.done) == (ScoringRun.Status.DONE, 3)
    assert (
        Article.objects.filter(id__in=[a.id for a in articles], sentiment_version=version).count()
        == 3
    )
    # The task the promotion sent finds it done; nothing is queued any more.
    assert scoring_run_execute(run_id=run.id) is None
    assert demo_rescore_now(version_id=version.id) == 0

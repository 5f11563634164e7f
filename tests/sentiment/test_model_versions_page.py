"""The sentiment model versions page: train a new version, compare on held-out labels, promote."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from apps.sentiment.models import ArticleLabel
from apps.sentiment.understanding.comparison import versions_compare
from apps.sentiment.understanding.training import HEADLINE_TASK, seed_examples
from ml.registry import services
from ml.registry.models import ModelVersion, ScoringRun
from ml.training import load_text_model
from tests.conftest import TINY_HYPERPARAMETERS
from tests.sentiment.factories import ArticleFactory

pytestmark = pytest.mark.django_db

HELD_OUT = [
    ("Acme shares crash after auditor resigns", "negative"),
    ("Acme profit doubles on record orders", "positive"),
    ("Acme to hold annual meeting in May", "neutral"),
    ("Globex cuts outlook and suspends dividend", "negative"),
    ("Globex wins large contract and raises guidance", "positive"),
    ("Globex appoints new finance chief", "neutral"),
]


def train(tiny_model_dir: Path, epochs: int) -> ModelVersion:
    queued = services.model_version_queue(
        task=HEADLINE_TASK,
        base_model=str(tiny_model_dir),
        hyperparameters={**TINY_HYPERPARAMETERS, "epochs": epochs},
        enqueue=False,
    )
    version = services.model_version_train(version_id=queued.id)
    assert version.status == ModelVersion.Status.READY, version.error
    return version


def accuracy_by_hand(version: ModelVersion) -> float:
    model = load_text_model(Path(version.artifact_path), device="cpu")
    probabilities = model.predict_proba([title for title, _ in HELD_OUT])
    predicted = [model.labels[i] for i in np.argmax(probabilities, axis=1)]
    return float(np.mean([p == label for p, (_, label) in zip(predicted, HELD_OUT, strict=True)]))


@pytest.fixture
def labelled() -> None:
    for title, label in HELD_OUT:
        ArticleLabel.objects.create(article=ArticleFactory(title=title), label=label, held_out=True)
    trained = ArticleFactory(title="Initech recalls printers after fires")
    ArticleLabel.objects.create(article=trained, label="negative")


def test_versions_are_compared_side_by_side_on_the_same_held_out_articles(
    admin_client, artifacts_dir, tiny_model_dir, labelled
):
    v1, v2 = train(tiny_model_dir, epochs=6), train(tiny_model_dir, epochs=1)
    # Held-out headlines are never trained on; the analyst's other label is.
    assert v1.dataset_size == len(seed_examples()) + 1

    comparison = versions_compare()
    assert comparison.articles == 6
    assert comparison.label_counts == {"positive": 2, "neutral": 2, "negative": 2}
    reports = {report.version.version: report for report in comparison.reports}
    assert set(reports) == {1, 2}
    for number, version in ((1, v1), (2, v2)):
        report = reports[number]
        assert report.error == ""
        assert report.accuracy == pytest.approx(accuracy_by_hand(version))
        assert 0.0 <= report.macro_f1 <= 1.0
        assert sum(report.per_class[label]["support"] for label in report.per_class) == 6

    page = admin_client.get(reverse("admin:sentiment_model_versions"))
    html = page.content.decode()
    assert page.status_code == 200
    for number in (1, 2):
        assert f'<tr data-version="{number}">' in html
        assert (
            f"{reports[number].accuracy:.3f}" in html and f"{reports[number].macro_f1:.3f}" in html
        )
    assert "Promote v1" in html and "Promote v2" in html

    promoted = admin_client.post(
        reverse("admin:sentiment_model_versions"), {"action": "promote", "version_id": v2.id}
    )
    assert promoted.status_code == 302
    v2.refresh_from_db()
    assert v2.stage == ModelVersion.Stage.PRODUCTION
    assert ScoringRun.objects.filter(task=HEADLINE_TASK, version=v2).exists()
    assert (
        "Promote v2"
        not in admin_client.get(reverse("admin:sentiment_model_versions")).content.decode()
    )


def test_train_button_queues_a_version_on_the_registry(admin_client, labelled):
    response = admin_client.post(reverse("admin:sentiment_model_versions"), {"action": "train"})

    assert response.status_code == 302
    version = ModelVersion.objects.get(task=HEADLINE_TASK)
    assert (version.version, version.status, version.task_type) == (1, "queued", "classification")
    assert version.hyperparameters["labels"] == ["positive", "neutral", "negative"]
    assert version.hyperparameters["epochs"] == 4
    assert "1 analyst labels" in version.notes
    assert version.created_by.username == "admin"


def test_page_without_held_out_labels_says_how_to_get_them(admin_client):
    html = admin_client.get(reverse("admin:sentiment_model_versions")).content.decode()
    assert "No held-out labels yet" in html


def test_bad_requests_are_refused_without_a_500(admin_client, client):
    url = reverse("admin:sentiment_model_versions")
    bad = admin_client.post(url, {"action": "promote", "version_id": "abc"})
    assert bad.status_code == 404
    unknown = admin_client.post(url, {"action": "explode"})
    assert unknown.status_code == 302

    staff = User.objects.create_user("viewer", password="pw", is_staff=True)
    client.force_login(staff)
    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "train"}).status_code == 403
    assert not ModelVersion.objects.exists()

"""Admin pages of the registry: the add form validates, the list shows progress."""

from __future__ import annotations

import pytest
from django.urls import reverse

from ml.registry.models import ModelVersion
from tests.registry.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


def test_add_form_reports_unknown_hyperparameters_as_a_form_error(
    admin_client, tiny_model_dir, tiny_dataset_csv
):
    response = admin_client.post(
        reverse("admin:registry_modelversion_add"),
        {
            "task": "demo.topic",
            "task_type": "classification",
            "base_model": str(tiny_model_dir),
            "dataset_path": str(tiny_dataset_csv),
            "hyperparameters": '{"epochz": 3}',
        },
    )
    assert response.status_code == 200
    assert b"unknown training parameter" in response.content
    assert not ModelVersion.objects.exists()


def test_add_form_requires_a_dataset_for_unknown_tasks(admin_client, tiny_model_dir):
    response = admin_client.post(
        reverse("admin:registry_modelversion_add"),
        {
            "task": "nobody.knows",
            "task_type": "classification",
            "base_model": str(tiny_model_dir),
            "hyperparameters": "{}",
        },
    )
    assert b"has no dataset builder" in response.content
    assert not ModelVersion.objects.exists()


def test_changelist_shows_progress_and_refreshes_while_training(admin_client):
    ModelVersionFactory(
        status=ModelVersion.Status.TRAINING,
        progress=0.42,
        status_message="epoch 2/4",
        stage=ModelVersion.Stage.CANDIDATE,
    )
    response = admin_client.get(reverse("admin:registry_modelversion_changelist"))
    assert b'<progress max="100" value="42"' in response.content
    assert b"epoch 2/4" in response.content
    assert b'http-equiv="refresh"' in response.content


def test_promote_action_reports_errors_without_crashing(admin_client):
    training = ModelVersionFactory(status=ModelVersion.Status.TRAINING, progress=0.1)
    response = admin_client.post(
        reverse("admin:registry_modelversion_changelist"),
        {"action": "promote", "_selected_action": [training.id]},
        follow=True,
    )
    assert response.status_code == 200
    assert b"only ready versions can be promoted" in response.content


def test_change_page_shows_metrics_and_confusion_matrix(admin_client):
    version = ModelVersionFactory(
        metrics={
            "accuracy": 0.75,
            "macro_f1": 0.7,
            "labels": ["a", "b"],
            "confusion_matrix": [[3, 1], [0, 4]],
            "per_class": {
                "a": {"precision": 1.0, "recall": 0.75, "f1": 0.86, "support": 4},
                "b": {"precision": 0.8, "recall": 1.0, "f1": 0.89, "support": 4},
            },
        }
    )
    response = admin_client.get(reverse("admin:registry_modelversion_change", args=[version.id]))
    assert response.status_code == 200
    assert b"accuracy 0.7500" in response.content
    assert b"<td>3</td><td>1</td>" in response.content

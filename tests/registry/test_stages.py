"""Promotion, rollback and archiving keep exactly one production version per task."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from ml.errors import Conflict
from ml.registry import selectors, services
from ml.registry.models import ModelStageEvent, ModelVersion
from tests.registry.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


def test_database_refuses_a_second_production_version():
    ModelVersionFactory(stage=ModelVersion.Stage.PRODUCTION)
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersionFactory(stage=ModelVersion.Stage.PRODUCTION)


def test_database_refuses_production_for_a_version_that_is_not_ready():
    with pytest.raises(IntegrityError), transaction.atomic():
        ModelVersionFactory(stage=ModelVersion.Stage.PRODUCTION, status=ModelVersion.Status.FAILED)


def test_promote_archives_the_previous_production_version():
    v1, v2 = ModelVersionFactory(), ModelVersionFactory()
    services.model_version_promote(version=v1)
    services.model_version_promote(version=v2)

    v1.refresh_from_db()
    assert v1.stage == ModelVersion.Stage.ARCHIVED
    assert selectors.production_version(task="demo.topic") == v2
    assert ModelStageEvent.objects.filter(action="promote").count() == 2


def test_promote_refuses_a_version_that_is_still_training():
    version = ModelVersionFactory(status=ModelVersion.Status.TRAINING, progress=0.3)
    with pytest.raises(Conflict, match="only ready versions"):
        services.model_version_promote(version=version)


def test_tasks_have_independent_production_versions():
    a = ModelVersionFactory(task="chat.intent")
    b = ModelVersionFactory(task="sentiment.headline")
    services.model_version_promote(version=a)
    services.model_version_promote(version=b)
    assert {v.task for v in selectors.production_versions()} == {
        "chat.intent",
        "sentiment.headline",
    }


def test_rollback_walks_back_through_promotions():
    v1, v2, v3 = ModelVersionFactory(), ModelVersionFactory(), ModelVersionFactory()
    for version in (v1, v2, v3):
        services.model_version_promote(version=version)

    assert services.model_version_rollback(task="demo.topic") == v2
    assert services.model_version_rollback(task="demo.topic") == v1
    with pytest.raises(Conflict, match="no earlier production version"):
        services.model_version_rollback(task="demo.topic")
    assert selectors.production_version(task="demo.topic") == v1


def test_rollback_without_production_is_a_conflict():
    ModelVersionFactory()
    with pytest.raises(Conflict, match="no production version"):
        services.model_version_rollback(task="demo.topic")


def test_archive_refuses_the_production_version():
    version = ModelVersionFactory()
    services.model_version_promote(version=version)
    with pytest.raises(Conflict, match="in production"):
        services.model_version_archive(version=version)
    other = ModelVersionFactory()
    assert services.model_version_archive(version=other).stage == ModelVersion.Stage.ARCHIVED

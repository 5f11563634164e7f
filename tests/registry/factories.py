from __future__ import annotations

import factory

from ml.registry.models import ModelVersion


class ModelVersionFactory(factory.django.DjangoModelFactory):
    """A finished version (ready, candidate) unless told otherwise."""

    class Meta:
        model = ModelVersion

    task = "demo.topic"
    version = factory.Sequence(lambda n: n + 1)
    base_model = "/models/base"
    status = ModelVersion.Status.READY
    stage = ModelVersion.Stage.CANDIDATE
    progress = 1.0
    artifact_path = factory.LazyAttribute(lambda o: f"/artifacts/{o.task}/v{o.version}/model")
    metrics = factory.LazyFunction(lambda: {"accuracy": 0.9, "macro_f1": 0.88})

"""Liveness and readiness endpoints report what a load balancer needs."""

from __future__ import annotations

import threading
import time

import pytest

from ml.registry import services
from ml.serving import warmup
from ml.serving.warmup import WarmUp
from tests.conftest import TINY_HYPERPARAMETERS

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_touching_dependencies(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_database_and_broker(client, settings):
    body = client.get("/readyz").json()
    assert body["status"] == "ready"
    assert body["checks"]["database"]["ok"] and body["checks"]["broker"]["ok"]
    assert body["checks"]["broker"]["detail"] == settings.TESSERA_MODE.replace(
        "embedded", "filesystem"
    )


def test_readyz_is_503_until_the_process_warm_up_is_done(client, monkeypatch):
    release = threading.Event()
    job = WarmUp(lambda: release.wait(10), name="test-readyz-warm-up")
    monkeypatch.setattr(warmup, "_current", job.start())
    response = client.get("/readyz")
    assert response.status_code == 503
    check = response.json()["checks"]["warm_up"]
    assert check["ok"] is False and "answering models still loading" in check["detail"]
    release.set()
    assert job.join(10)
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["warm_up"]["detail"]["state"] == "done"


def test_readyz_is_503_when_the_broker_is_unreachable(client, settings):
    settings.TESSERA_MODE = "redis"
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


@pytest.mark.django_db(transaction=True)  # the loader thread reads with its own connection
def test_readyz_waits_until_production_models_are_loaded(
    client, tiny_model_dir, tiny_dataset_csv, artifacts_dir
):
    version = services.model_version_queue(
        task="demo.ready",
        base_model=str(tiny_model_dir),
        dataset_path=str(tiny_dataset_csv),
        hyperparameters=TINY_HYPERPARAMETERS,
    )
    services.model_version_promote(version=services.model_version_train(version_id=version.id))

    deadline = time.monotonic() + 30
    statuses = []
    while time.monotonic() < deadline:
        response = client.get("/readyz")
        statuses.append(response.status_code)
        if response.status_code == 200:
            break
        time.sleep(0.2)
    assert statuses[-1] == 200, response.json()
    assert response.json()["checks"]["models"]["detail"]["demo.ready"] == {
        "version": 1,
        "loaded": True,
    }

"""Liveness and readiness endpoints report what a load balancer needs."""

from __future__ import annotations

import ast
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ml.registry import services, serving
from ml.registry.models import ModelVersion
from ml.registry.plugins import AppServingSpec, app_serving_register, app_serving_unregister
from ml.serving import warmup
from tests.conftest import TINY_HYPERPARAMETERS

ROOT = Path(__file__).resolve().parents[2]

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


@pytest.fixture
def demo_app() -> Iterator[str]:
    """A second app beside the chat: web task demo.ready, worker-only task demo.batch."""
    app_serving_register(
        AppServingSpec(app="demo", web_tasks=("demo.ready",), worker_tasks=("demo.batch",))
    )
    yield "demo"
    app_serving_unregister("demo")


def test_readyz_is_503_until_every_app_warm_up_is_done(client, monkeypatch, demo_app):
    monkeypatch.setattr(warmup, "process_warm_ups", warmup.WarmUps())
    release = threading.Event()
    warmup.start_warm_up(lambda: "chat ready", name="chat")
    warmup.start_warm_up(lambda: release.wait(10) and {"held": 1}, name=demo_app)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.json()
    check = body["checks"]["warm_up"]
    assert check["ok"] is False and "warm-up still loading: demo (attempt 1)" in check["detail"]
    assert body["apps"]["demo"]["ready"] is False
    assert body["apps"]["demo"]["warm_up"]["state"] == "running"
    assert body["apps"]["demo"]["worker_tasks"] == ["demo.batch"]
    release.set()
    assert warmup.warm_ups_join(10)
    response = client.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["checks"]["warm_up"]["detail"]["state"] == "done"
    assert body["apps"]["demo"]["ready"] and body["apps"]["chat"]["ready"]
    assert body["apps"]["demo"]["warm_up"]["result"] == {"held": 1}
    assert body["apps"]["chat"]["warm_up"]["result"] == "chat ready"


def test_readyz_names_the_app_whose_warm_up_keeps_failing(client, monkeypatch, demo_app):
    monkeypatch.setattr(warmup, "process_warm_ups", warmup.WarmUps())
    attempts: list[int] = []

    def failing() -> None:
        attempts.append(1)
        raise ConnectionError("index folder not mounted")

    job = warmup.process_warm_ups.start(failing, name=demo_app, first_retry_s=60)
    while not attempts or job.status()["state"] != "retrying":
        time.sleep(0.01)
    body = client.get("/readyz").json()
    assert body["status"] == "not_ready"
    assert (
        "last attempt: ConnectionError: index folder not mounted"
        in (body["checks"]["warm_up"]["detail"])
    )
    assert body["apps"]["demo"]["warm_up"]["error"] == "ConnectionError: index folder not mounted"


def test_asgi_entry_point_names_no_app_but_the_core():
    """config/asgi.py starts every registered app's warm-up without importing any app."""
    tree = ast.parse((ROOT / "config" / "asgi.py").read_text())
    modules = [
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    ] + [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    ]
    app_modules = [m for m in modules if m.startswith("apps.")]
    assert app_modules and all(m.startswith("apps.core.") for m in app_modules), app_modules
    assert "ml.registry.serving" in modules


def test_readyz_is_503_when_the_broker_is_unreachable(client, settings):
    settings.TESSERA_MODE = "redis"
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["broker"]["ok"] is False


@pytest.mark.django_db(transaction=True)  # the loader thread reads with its own connection
def test_readyz_waits_for_web_models_and_never_loads_a_worker_only_one(
    client, tiny_model_dir, tiny_dataset_csv, artifacts_dir, demo_app
):
    version = services.model_version_queue(
        task="demo.ready",
        base_model=str(tiny_model_dir),
        dataset_path=str(tiny_dataset_csv),
        hyperparameters=TINY_HYPERPARAMETERS,
    )
    ready = services.model_version_train(version_id=version.id)
    services.model_version_promote(version=ready)
    # A batch-scoring-only model of the same app, promoted too (same artifact, another task).
    batch = ModelVersion.objects.create(
        task="demo.batch",
        version=1,
        base_model=str(tiny_model_dir),
        status=ModelVersion.Status.READY,
        artifact_path=ready.artifact_path,
    )
    services.model_version_promote(version=batch)

    deadline = time.monotonic() + 30
    statuses = []
    while time.monotonic() < deadline:
        response = client.get("/readyz")
        statuses.append(response.status_code)
        if response.status_code == 200:
            break
        time.sleep(0.2)
    assert statuses[-1] == 200, response.json()
    body = response.json()
    assert body["checks"]["models"]["detail"] == {"demo.ready": {"version": 1, "loaded": True}}
    assert body["apps"]["demo"]["models"] == {"demo.ready": {"version": 1, "loaded": True}}
    assert body["apps"]["demo"]["worker_tasks"] == ["demo.batch"]
    assert serving.predictor_cache.current_version("demo.ready") == f"{ready.id}:v1"
    assert serving.predictor_cache.current_version("demo.batch") is None

"""The Prometheus scrape shows request latency per route, queue depth and training runs."""

from __future__ import annotations

import pytest

from ml.registry.models import ModelVersion
from tests.registry.factories import ModelVersionFactory

pytestmark = pytest.mark.django_db


def test_metrics_expose_route_latency_queue_depth_and_training_runs(client):
    ModelVersionFactory(task="chat.intent", status=ModelVersion.Status.FAILED)
    client.get("/healthz")

    text = client.get("/metrics").content.decode()

    assert (
        'tessera_http_request_duration_seconds_count{method="GET",route="healthz",status="200"}'
        in text
    )
    assert 'tessera_queue_depth{queue="gpu"}' in text
    assert 'tessera_training_runs{status="failed",task="chat.intent"} 1.0' in text


def test_unknown_routes_get_a_json_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"

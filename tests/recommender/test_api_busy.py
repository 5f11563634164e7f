"""Under load the API answers 503 JSON with Retry-After, never 500 (config/http_limit.py)."""

from __future__ import annotations

import json

import pytest
from channels.testing import HttpCommunicator
from django.db import OperationalError

from apps.recommender.auth import ShopClientKeyAuthentication
from config.http_limit import HttpConcurrencyLimit
from tests.python_process import run_python
from tests.recommender.conftest import ShopApiClient


def header(response: dict, name: bytes) -> bytes | None:
    return dict(response["headers"]).get(name)


def popular(app: HttpConcurrencyLimit) -> HttpCommunicator:
    return HttpCommunicator(
        app, "GET", "/api/recommender/popular/", headers=[(b"host", b"testserver")]
    )


@pytest.mark.django_db
async def test_a_full_web_process_answers_503_json_with_retry_after() -> None:
    from django.core.asgi import get_asgi_application

    app = HttpConcurrencyLimit(get_asgi_application(), limit=1, wait_s=0.05)
    slots = app.slots()
    await slots.acquire()  # the one slot is taken by a request still in Django
    try:
        busy = await popular(app).get_response()
    finally:
        slots.release()
    assert busy["status"] == 503
    assert header(busy, b"retry-after") == b"1"
    assert json.loads(busy["body"])["error"]["code"] == "server_busy"

    # The slot is free again: the request reaches Django (no key: its own 401).
    served = await popular(app).get_response()
    assert served["status"] == 401


@pytest.mark.django_db
def test_database_refusing_connections_is_503_not_500(
    shop: ShopApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refused(self, request):  # noqa: ANN001, ANN202
        raise OperationalError("FATAL:  sorry, too many clients already")

    monkeypatch.setattr(ShopClientKeyAuthentication, "authenticate", refused)
    response = shop.http.get("/api/recommender/users/u-1/recommendations/")
    assert response.status_code == 503
    assert response["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "database_unavailable"


PROBE = """
import os

if os.environ.get("PROBE_SERVER_DEFAULTS") == "1":  # tests/env_defaults.py sets it for tests
    os.environ.pop("DB_CONN_MAX_AGE", None)
import config.asgi
from django.conf import settings

http = config.asgi.application.application_mapping["http"]
print(settings.DATABASES["default"]["CONN_MAX_AGE"], http.limit)
"""


def test_a_web_process_connects_per_request_and_bounds_its_requests() -> None:
    env = {"ML_PRELOAD": "0", "PROBE_SERVER_DEFAULTS": "1"}
    out = run_python(PROBE, **env, DB_WEB_MAX_REQUESTS="7").stdout.split()
    assert out[-2:] == ["0", "7"]
    # Kept connections stay available to an operator who asks for them.
    out = run_python(PROBE, ML_PRELOAD="0", DB_CONN_MAX_AGE="60").stdout.split()
    assert out[-2:] == ["60", "16"]

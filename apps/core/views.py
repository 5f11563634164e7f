"""Platform endpoints: liveness, readiness, Prometheus scrape, and the start page."""

from __future__ import annotations

import logging
import os

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess

from apps.core import selectors
from apps.core.metrics import PlatformCollector

logger = logging.getLogger(__name__)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is up and answering; nothing else is checked (for liveness probes)."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to serve: database, broker/Redis, and every app's web models and warm-up done.

    `checks` folds the apps together (what probes read); `apps` says which app is not ready.
    """
    checks = selectors.readiness_checks()
    apps = selectors.readiness_apps()
    ready = all(check["ok"] for check in checks.values()) and all(
        app["ready"] for app in apps.values()
    )
    return JsonResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks, "apps": apps},
        status=200 if ready else 503,
    )


@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """This process's metrics, or every web process's when they share PROMETHEUS_MULTIPROC_DIR
    (python -m config.web with several processes): a scrape reaches one of them."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        registry.register(PlatformCollector())
        return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
    return HttpResponse(generate_latest(), content_type=CONTENT_TYPE_LATEST)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(
        request, "core/home.html", {"links": selectors.home_links(), "db": connection.vendor}
    )

"""Reads for the platform pages: readiness checks and the start page's links."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.urls import NoReverseMatch, reverse

logger = logging.getLogger(__name__)


def _timed(check) -> dict[str, Any]:  # noqa: ANN001
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # noqa: BLE001  readiness reports failures, it does not raise
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return {"ok": ok, "detail": detail, "ms": round((time.perf_counter() - started) * 1000, 1)}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return connection.vendor


def _broker() -> str:
    if settings.TESSERA_MODE == "redis":
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1)
        try:
            client.ping()
        finally:
            client.close()
        return "redis"
    queue_dir = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    if not os.access(queue_dir, os.W_OK):
        raise OSError(f"broker folder {queue_dir} is not writable")
    return "filesystem"


def _models() -> dict[str, Any]:
    from ml.registry.serving import production_models_status

    status = production_models_status(load_missing=True)
    missing = [task for task, info in status.items() if not info["loaded"]]
    if missing:
        raise RuntimeError(f"production models still loading: {', '.join(sorted(missing))}")
    return status


def _warm_up() -> dict[str, Any]:
    from ml.serving.warmup import DONE, OFF, warm_up_status, warm_up_statuses

    status = warm_up_status()
    if status["state"] not in (OFF, DONE):
        pending = [
            f"{name} (attempt {s['attempts']}"
            + (f"; last attempt: {s['error']})" if s["error"] else ")")
            for name, s in warm_up_statuses().items()
            if s["state"] != DONE
        ]
        raise RuntimeError(f"warm-up still loading: {', '.join(pending)}")
    return status


def readiness_checks() -> dict[str, dict[str, Any]]:
    return {
        "database": _timed(_database),
        "broker": _timed(_broker),
        "models": _timed(_models),
        "warm_up": _timed(_warm_up),
    }


def readiness_apps() -> dict[str, dict[str, Any]]:
    """Each app's part of readiness: its warm-up, the web models it holds, its worker tasks."""
    from ml.registry.plugins import app_serving_list
    from ml.registry.serving import app_serving_statuses

    try:
        statuses = app_serving_statuses()
    except Exception as exc:  # noqa: BLE001  readiness reports failures, it does not raise
        error = f"{type(exc).__name__}: {exc}"
        return {spec.app: {"ready": False, "error": error} for spec in app_serving_list()}
    return {status.app: status.as_json() for status in statuses}


def home_links() -> list[dict[str, str]]:
    """Links to every user-facing page that is installed; apps add theirs by URL name."""
    candidates = [
        ("Chat widget demo", "chat:demo"),
        ("Agent console", "chat:console"),
        ("Sentiment dashboard", "sentiment:dashboard"),
        ("API docs", "api-docs"),
        ("Admin", "admin:index"),
        ("Model registry", "admin:registry_modelversion_changelist"),
        ("Readiness", "readyz"),
        ("Metrics", "metrics"),
    ]
    links = []
    for title, name in candidates:
        try:
            links.append({"title": title, "url": reverse(name)})
        except NoReverseMatch:
            continue
    return links

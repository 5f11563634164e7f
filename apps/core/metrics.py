"""Prometheus metrics shared by every app (names: tessera_<area>_<what>_<unit>).

Counts that live in the database or the broker (training runs, queue depth) are read at
scrape time by a collector, so they are right whichever process did the work.
"""

from __future__ import annotations

import logging
from pathlib import Path

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily

import ml.serving.metrics  # noqa: F401  (model-serving histograms join the registry here too)

logger = logging.getLogger(__name__)

HTTP_REQUEST_SECONDS = Histogram(
    "tessera_http_request_duration_seconds",
    "HTTP request latency by route",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
WEBSOCKET_CONNECTIONS = Gauge(
    "tessera_websocket_connections",
    "Open websocket connections",
    ["consumer"],
    multiprocess_mode="livesum",  # several web processes: the sum over the live ones
)
ALERTS_SENT = Counter("tessera_alerts_sent", "Alerts sent", ["channel"])

QUEUES = ("default", "gpu")


def queue_depths() -> dict[str, int]:
    """Messages waiting per Celery queue, from Redis or the filesystem broker."""
    from django.conf import settings

    if settings.TESSERA_MODE == "redis":
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1)
        try:
            prefix = settings.REDIS_KEY_PREFIX
            return {queue: int(client.llen(f"{prefix}{queue}")) for queue in QUEUES}
        finally:
            client.close()
    queue_dir = Path(settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"])
    names = [p.name for p in queue_dir.glob("*.msg")]
    return {queue: sum(1 for n in names if n.endswith(f".{queue}.msg")) for queue in QUEUES}


class PlatformCollector:
    """Scrape-time gauges for the training registry and broker queues."""

    def describe(self):  # noqa: ANN201  (so registering does not query the database)
        yield GaugeMetricFamily("tessera_queue_depth", "Messages waiting", labels=["queue"])
        yield GaugeMetricFamily(
            "tessera_training_runs", "Model versions by task and status", labels=["task", "status"]
        )

    def collect(self):  # noqa: ANN201  (prometheus_client protocol)
        depth = GaugeMetricFamily("tessera_queue_depth", "Messages waiting", labels=["queue"])
        try:
            for queue, count in queue_depths().items():
                depth.add_metric([queue], count)
        except Exception as exc:  # noqa: BLE001  a scrape must not fail because Redis blinked
            logger.warning("queue depth unavailable: %s", exc)
        yield depth

        runs = GaugeMetricFamily(
            "tessera_training_runs", "Model versions by task and status", labels=["task", "status"]
        )
        try:
            from ml.registry.selectors import model_version_counts

            for (task, status), count in model_version_counts().items():
                runs.add_metric([task, status], count)
        except Exception as exc:  # noqa: BLE001  same: report what we can
            logger.warning("training run counts unavailable: %s", exc)
        yield runs


_registered = False


def register_collectors() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(PlatformCollector())
        _registered = True

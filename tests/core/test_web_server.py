"""`python -m config.web`: several daphne processes on one port (WEB_CONCURRENCY)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import database_url_for_subprocess

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthz_served(port: int) -> int:
    """GET /healthz on a new connection; 1 when it answered 200."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:  # noqa: S310
        return int(response.status == 200)


def healthz_count(port: int) -> float:
    """tessera_http_request_duration_seconds_count of /healthz, summed over its labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:  # noqa: S310
        families = text_string_to_metric_families(response.read().decode())
    return sum(
        sample.value
        for family in families
        if family.name == "tessera_http_request_duration_seconds"
        for sample in family.samples
        if sample.name.endswith("_count") and sample.labels.get("route") == "healthz"
    )


@pytest.mark.django_db(transaction=True)
def test_two_processes_serve_one_port_and_stop_together(tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "ML_PRELOAD": "0",
        "WEB_CONCURRENCY": "2",
        "LOG_LEVEL": "WARNING",
    }
    with (tmp_path / "web.log").open("w") as log:
        server = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "config.web", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline, status = time.monotonic() + 90, None
            while status != 200 and time.monotonic() < deadline and server.poll() is None:
                with contextlib.suppress(OSError):
                    url = f"http://127.0.0.1:{port}/healthz"
                    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                        status = response.status
                time.sleep(0.3)
            assert status == 200, (tmp_path / "web.log").read_text()[-3000:]
            children = psutil.Process(server.pid).children()
            assert len(children) == 2
            assert all("daphne" in " ".join(child.cmdline()) for child in children)
            # Prometheus sees both processes: a scrape, whichever process answers, counts the
            # requests that every process served.
            # (>=: a wait-loop request that timed out on our side during start-up still counts.)
            healthz_total = 1 + sum(healthz_served(port) for _ in range(30))  # + the wait's 200
            counts = {healthz_count(port) for _ in range(4)}
            assert len(counts) == 1 and counts.pop() >= healthz_total
        finally:
            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=60)
    assert code == 0
    assert not any(child.is_running() and child.status() != "zombie" for child in children)

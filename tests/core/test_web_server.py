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

from tests.conftest import database_url_for_subprocess

ROOT = Path(__file__).resolve().parent.parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
        finally:
            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=60)
    assert code == 0
    assert not any(child.is_running() and child.status() != "zombie" for child in children)

"""The web server: WEB_CONCURRENCY daphne processes sharing one listening socket.

One daphne process used under one core (the GIL) whatever the machine had: 46 req/s at 0.87
cores on a 2-core box in bench/rec_load.py. This binds the port once and starts
WEB_CONCURRENCY (default: the CPUs this process may use) `daphne --fd` children on it; the
kernel hands each new connection to one of them. WebSocket groups already go through the
Redis channel layer, so a chat works across processes. Each process loads its own models, and
with more than one, OMP_NUM_THREADS defaults to 1. Prometheus metrics are per process.

    python -m config.web [--host 0.0.0.0] [--port 8000] [--workers N] [-- daphne options]

SIGTERM/SIGINT reach every child; if one child exits the others are stopped and this exits
with its status, so the supervisor (docker, the demo) restarts the whole server.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

APPLICATION = "config.asgi:application"


def default_workers() -> int:
    """WEB_CONCURRENCY, else the CPUs this process may run on."""
    configured = os.environ.get("WEB_CONCURRENCY", "").strip()
    if configured:
        return max(1, int(configured))
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(1024)
    sock.set_inheritable(True)
    return sock


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("daphne_args", nargs="*", help="passed to each daphne, after --")
    args = parser.parse_args(argv)
    workers = args.workers or default_workers()
    sock = listen(args.host, args.port)
    command = [sys.executable, "-m", "daphne", "--fd", str(sock.fileno()), *args.daphne_args]
    env = dict(os.environ)
    metrics_dir = None
    if workers > 1:
        # The processes are the parallelism: OpenMP teams (FAISS, torch) of one thread each, not
        # one per core in every process, spinning against each other.
        env.setdefault("OMP_NUM_THREADS", "1")
        if not env.get("PROMETHEUS_MULTIPROC_DIR"):
            # prometheus_client's multiprocess mode: each process writes its samples here and
            # /metrics (whichever process answers) adds them up; a fresh dir per server start.
            metrics_dir = tempfile.mkdtemp(prefix="tessera-metrics-")
            env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    children = [
        subprocess.Popen([*command, APPLICATION], pass_fds=[sock.fileno()], env=env)  # noqa: S603
        for _ in range(workers)
    ]
    print(f"web: {workers} daphne processes on {args.host}:{args.port}", flush=True)

    def stop(signum: int = signal.SIGTERM, _frame: object = None) -> None:
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    status = 0
    while all(child.poll() is None for child in children):
        time.sleep(0.5)
    status = next(child.returncode for child in children if child.returncode is not None)
    stop()
    deadline = time.monotonic() + 20
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    if metrics_dir is not None:
        shutil.rmtree(metrics_dir, ignore_errors=True)
    return status if status >= 0 else 128 - status


if __name__ == "__main__":
    raise SystemExit(main())

"""Daphne servers for a chat load run: one process group per batching mode (optionally under
bench.chatload.sampler), their environment, CPU, /metrics and profile snapshots."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench.common import ROOT

UNLIMITED = "1000000000"  # rate limits during the run


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`daphne config.asgi:application` processes, each on a free port, for one batching mode.

    With `processes` > 1 (`--server-processes`) the clients spread their websockets over the
    processes round-robin, as a load balancer in front of several Daphne processes would (the
    Channels deployment docs' layout); each process has its own GIL, encoder and batcher.
    The client process gets a `ref()` (ports, pids, paths) and reads CPU, /metrics and the
    sampler from there; only the main process starts and stops the servers.
    """

    def __init__(
        self,
        mode: str,
        env: dict[str, str],
        run_dir: Path,
        profile: bool,
        cprofile: bool,
        processes: int = 1,
    ):
        self.mode = mode
        self.cprofile = cprofile
        self.env = env
        self.ports = [free_port() for _ in range(processes)]
        self.log_path = run_dir / f"daphne-{mode}.log"
        # The sampler watches the first process only.
        self.profile_path = run_dir / f"profile-{mode}.json" if profile else None
        self.processes: list[subprocess.Popen] = []
        self.pids: list[int] = []

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def pid(self) -> int:
        return self.pids[0] if self.pids else 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ref(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "ports": self.ports,
            "pids": self.pids,
            "log_path": str(self.log_path),
            "profile_path": str(self.profile_path) if self.profile_path else None,
        }

    @classmethod
    def from_ref(cls, ref: dict[str, Any]) -> Server:
        server = cls.__new__(cls)
        server.mode, server.ports, server.pids = ref["mode"], ref["ports"], ref["pids"]
        server.env, server.processes = {}, []
        server.log_path = Path(ref["log_path"])
        server.profile_path = Path(ref["profile_path"]) if ref["profile_path"] else None
        return server

    def start(self) -> None:
        for i, port in enumerate(self.ports):
            args = ["-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
            env = dict(self.env)
            if self.profile_path is not None and i == 0:
                env["BENCH_SAMPLER_OUT"] = str(self.profile_path)
                env["BENCH_ROOT"] = str(ROOT) + os.sep
                if self.cprofile:
                    env["BENCH_CPROFILE"] = "1"
                command = [sys.executable, "-m", "bench.chatload.sampler", *args]
            else:
                command = [sys.executable, "-m", "daphne", *args]
            with self.log_path.open("a") as log:
                process = subprocess.Popen(  # noqa: S603  (our own interpreter and script)
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.processes.append(process)
            self.pids.append(process.pid)

    def wait_healthy(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        for port, process in zip(self.ports, self.processes, strict=True):
            while True:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"daphne ({self.mode}) did not answer in {timeout_s}s:\n{self.log_tail()}"
                    )
                if process.poll() is not None:
                    raise SystemExit(f"daphne ({self.mode}) exited:\n{self.log_tail()}")
                try:
                    url = f"http://127.0.0.1:{port}/healthz"
                    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                        if response.status == 200:
                            break
                except OSError:
                    time.sleep(0.2)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        for pid in self.pids:
            times = psutil.Process(pid).cpu_times()
            total += float(times.user + times.system)
        return total

    def thread_cpu_seconds(self) -> dict[int, float]:
        """Per thread of the sampled (first) process: the sampler knows only its threads."""
        import psutil

        return {t.id: t.user_time + t.system_time for t in psutil.Process(self.pid).threads()}

    def metrics(self) -> dict[str, float]:
        """Encoder batcher counters from every process's /metrics (sums since they started)."""
        wanted = {
            'tessera_model_batch_size_count{task="encoder"}': "batches",
            'tessera_model_batch_size_sum{task="encoder"}': "items",
            'tessera_model_inference_seconds_sum{task="encoder"}': "busy_s",
        }
        out = {"batches": 0.0, "items": 0.0, "busy_s": 0.0}
        for port in self.ports:
            url = f"http://127.0.0.1:{port}/metrics"
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
                text = response.read().decode()
            for line in text.splitlines():
                key, _, value = line.rpartition(" ")
                if key in wanted:
                    out[wanted[key]] += float(value)
        return out

    def profile_snapshot(self) -> dict[str, Any] | None:
        """Ask the sampler to dump (and reset) what it saw since the last snapshot."""
        if self.profile_path is None or not self.pid:
            return None
        self.profile_path.unlink(missing_ok=True)
        os.kill(self.pid, signal.SIGUSR1)
        for _ in range(100):
            if self.profile_path.exists():
                return json.loads(self.profile_path.read_text())
            time.sleep(0.05)
        return None

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def server_env(args: argparse.Namespace, database_url: str, artifacts: Path, var_dir: Path) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ML_ARTIFACTS_DIR": str(artifacts),
        "TESSERA_VAR_DIR": str(var_dir),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "CHAT_RATE_PER_MINUTE_CONVERSATION": UNLIMITED,
        "CHAT_RATE_PER_MINUTE_IP": UNLIMITED,
        "CHAT_CONNECTS_PER_MINUTE_IP": UNLIMITED,
        "ML_ENCODER_INT8": args.encoder_int8,
        "ML_ENCODER_RUNTIME": args.encoder_runtime,
        "ML_DEVICE": args.device,
    }
    env.pop("REDIS_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
        env["TESSERA_REDIS_PREFIX"] = f"bench-chat-load-{os.getpid()}:"
    optional = {
        "ASGI_THREADS": args.asgi_threads,
        "ML_BATCH_MAX_SIZE": args.batch_max_size,
        "ML_BATCH_MAX_WAIT_MS": args.batch_max_wait_ms,
        "DB_CONN_MAX_AGE": args.db_conn_max_age,
        "OMP_NUM_THREADS": args.torch_threads,  # torch's intra-op threads (read at start)
    }
    for key, value in optional.items():
        if value is not None:
            env[key] = str(value)
    return env

"""A step (one catalogue size): prepare the data, then for each server configuration warm the
server up and run locust at each concurrency level."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT
from bench.recload.server import Server, get
from bench.recload.setup import WORK_DIR, database_reset, redis_clean, run_command, step_env

# The entry point; a step runs its `_prepare` and `_profile` subcommands in a subprocess.
SCRIPT = ROOT / "bench" / "rec_load.py"


def percentiles(values: list[float]) -> dict[str, float | None]:
    import numpy as np

    if not values:
        return {"p50_ms": None, "p90_ms": None, "p99_ms": None, "mean_ms": None}
    array = np.asarray(values, dtype=float)
    return {
        "p50_ms": round(float(np.percentile(array, 50)), 2),
        "p90_ms": round(float(np.percentile(array, 90)), 2),
        "p99_ms": round(float(np.percentile(array, 99)), 2),
        "mean_ms": round(float(array.mean()), 2),
    }


def locust(
    server: Server, env: dict[str, str], step_dir: Path, clients: int, args: argparse.Namespace
) -> dict:
    out = step_dir / f"timings-{clients}.json"
    locust_env = {
        **env,
        "REC_LOAD_KEY": (step_dir / "key").read_text().strip(),
        "REC_LOAD_USERS": str(step_dir / "users.json"),
        "REC_LOAD_K": str(args.k),
        "REC_LOAD_OUT": str(out),
    }
    cpu_before = server.cpu_s()
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with (step_dir / f"locust-{clients}.log").open("w") as log:
        subprocess.run(  # noqa: S603
            [sys.executable, "-m", "locust", "-f", str(ROOT / "bench/recload/locustfile.py")]
            + ["--headless", "-u", str(clients), "-r", str(clients), "-t", f"{args.seconds}s"]
            + [
                "--host",
                server.url,
                "--only-summary",
                "--loglevel",
                "WARNING",
                "--stop-timeout",
                "10",
            ],
            cwd=ROOT,
            env=locust_env,
            check=False,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    wall_s = time.monotonic() - started
    server_cpu_s = server.cpu_s() - cpu_before
    timings = json.loads(out.read_text())
    done = len(timings["latency_ms"])
    return {
        "clients": clients,
        "requests": done,
        "errors": len(timings["errors"]),
        "req_per_s": round(done / args.seconds, 1),
        **percentiles(timings["latency_ms"]),
        "server": percentiles(timings["server_ms"]),
        "server_cpu_cores": round(server_cpu_s / max(wall_s, 1e-9), 2),
        "error_statuses": sorted(set(timings["errors"])),
        # The machine is shared: its 1-minute load average before and after this run.
        "load_avg_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def warm_up(server: Server, key: str, users: list[str], k: int, step_dir: Path) -> dict:
    """The first requests load the index and the encoder; then 50 one at a time."""
    serial = []
    for n, user in enumerate(users[:60]):
        status, ms = get(f"{server.url}/api/recommender/users/{user}/recommendations/?k={k}", key)
        if status != 200:
            raise SystemExit(f"warm-up request answered {status}; see logs in {step_dir}")
        if n >= 10:
            serial.append(ms)
    return percentiles(serial)


def step_run(
    args: argparse.Namespace, *, n_items: int, clients: list[int], data: Path | None
) -> dict:
    step_dir = WORK_DIR / f"items-{n_items}"
    shutil.rmtree(step_dir, ignore_errors=True)
    step_dir.mkdir(parents=True)
    env = step_env(args, step_dir)
    database_reset(args.postgres, create=True)
    redis_clean(args.redis_url)
    server = None
    try:
        run_command([sys.executable, "manage.py", "migrate", "-v", "0"], env, "migrate")
        prepare = [sys.executable, str(SCRIPT), "_prepare", "--step-dir", str(step_dir)]
        prepare += ["--items", str(n_items), "--events", str(args.events)]
        prepare += ["--users", str(args.users), "--real-vectors-max", str(args.real_vectors_max)]
        if data is not None:
            prepare += ["--data", str(data)]
        run_command(prepare, env, "data preparation")
        setup = json.loads((step_dir / "setup.json").read_text())
        key = (step_dir / "key").read_text().strip()
        users = json.loads((step_dir / "users.json").read_text())
        runs, serial = [], {}
        # Each server configuration in turn on the same data: the project's defaults first.
        for config, knobs in args.configs.items():
            server = Server({**env, **knobs}, step_dir / f"web-{config}.log")
            serial[config] = warm_up(server, key, users, args.k, step_dir)
            processes = server.processes()
            for level in clients:
                run = {
                    "config": config,
                    "server_processes": processes,
                    **locust(server, env, step_dir, level, args),
                }
                print(
                    f"  items={n_items:>8} {config:>8} clients={level:>3}: p50 {run['p50_ms']} "
                    f"ms, p99 {run['p99_ms']} ms, {run['req_per_s']} req/s, "
                    f"errors {run['errors']} {run['error_statuses']}",
                    flush=True,
                )
                runs.append(run)
            server.stop()
            server = None
        profile = None
        if args.profile:
            run_command(
                [sys.executable, str(SCRIPT), "_profile", "--step-dir", str(step_dir)],
                env,
                "profile",
            )
            profile = json.loads((step_dir / "profile.json").read_text())
        return {
            "items": n_items,
            "setup": setup,
            "serial_warm": serial,
            "runs": runs,
            **({"profile": profile} if profile else {}),
        }
    finally:
        if server is not None:
            server.stop()
        if not args.keep:
            database_reset(args.postgres, create=False)
            redis_clean(args.redis_url)
            shutil.rmtree(step_dir, ignore_errors=True)

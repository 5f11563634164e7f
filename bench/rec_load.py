"""Recommendations endpoint under load: p50/p99 latency and requests/s at 1, 16 and 64
concurrent clients, and how p99 grows with the catalogue.

Usage:
    .venv/bin/python bench/rec_load.py [--data DIR] [--items 100000] [--events 1000000]
        [--users 50000] [--clients 1,16,64] [--scale-items 10000,100000,1000000]
        [--scale-clients 16] [--seconds 20] [--real-vectors-max 20000] [--k 10]
        [--postgres postgres://postgres@127.0.0.1:5432] [--redis-url URL] [--profile]
        [--config NAME:VAR=VALUE,... ...]
        [--keep] [--out bench/results/rec_load.json]

Data: `--data DIR` with `items.csv` (`item_id,title,text[,category]`) and `events.csv`
(`user_id,item_id,timestamp[,type]`) is used for the main step (its timestamps shifted so the
newest is now); without `--data` a seeded synthetic shop is generated (bench/recload/data.py:
40 categories, users with favourite categories, Zipf-like popularity). A DIR without those
files is reported and the script exits 0. The catalogue-size steps are always synthetic.

Per step (a catalogue size): a fresh PostgreSQL database `tessera_bench_rec_load` is migrated
and filled by COPY; item vectors come from the shared encoder through the item index's own
rebuild up to `--real-vectors-max` items, above that they are synthetic (a centroid per
category plus noise, unit length) written through the same named index; the co-occurrence
table is refreshed as the beat task would. Then `python -m config.web` (the project's web
server: WEB_CONCURRENCY daphne processes on one port, default one per CPU; DEBUG off, Redis
cache when `--redis-url`/REDIS_URL is set) serves
`GET /api/recommender/users/<id>/recommendations/?k=10`. Each concurrency level is a locust
run (headless, FastHttpUser, no think time: N clients each sending the next request when the
last one returned) for `--seconds`; 10% of requests are for unknown users (cold start), the
rest for users with history. Latency is measured by the client (locust) and, separately, the
server's own `X-Response-Time-Ms`. Load generator and server share the machine's cores;
`server_cpu_cores` counts every server process.

`--profile` runs cProfile over 30 requests in-process (Django test client, same database and
index) and keeps the top functions by cumulative time. Everything bulky (the database, the
index under var/bench/rec_load/, the Redis keys) is deleted at the end unless `--keep`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS_DIR, result_header, result_write  # noqa: E402

DB_NAME = "tessera_bench_rec_load"
WORK_DIR = ROOT / "var" / "bench" / "rec_load"
REDIS_PREFIX = "tessera-bench-rec-load:"
TARGET_P99_MS = 50.0
TARGET_CLIENTS = 16
# Measured next to the defaults: the single daphne process the project served with before
# config/web.py (one process is one core at most, whatever the machine has).
DEFAULT_TUNED = "one-process:WEB_CONCURRENCY=1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _admin_connect(postgres: str):  # noqa: ANN202
    import psycopg

    return psycopg.connect(f"{postgres}/postgres", autocommit=True, connect_timeout=5)


def _database_reset(postgres: str, *, create: bool) -> None:
    with _admin_connect(postgres) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        if create:
            admin.execute(f'CREATE DATABASE "{DB_NAME}"')


def _redis_clean(redis_url: str | None) -> None:
    if not redis_url:
        return
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{REDIS_PREFIX}*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])
    client.close()


def _env(args: argparse.Namespace, step_dir: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": f"{args.postgres}/{DB_NAME}",
        "ML_ARTIFACTS_DIR": str(step_dir / "artifacts"),
        "TESSERA_VAR_DIR": str(step_dir / "var"),
        "TESSERA_REDIS_PREFIX": REDIS_PREFIX,
        "DEBUG": "0",
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only-secret-key-" + "x" * 40),
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }
    env.pop("REDIS_URL", None)
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
    return env


def _run(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise SystemExit(f"{what} failed (exit {result.returncode})")


class Server:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log_path.open("w")
        self.process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "config.web", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the web server exited early; see {log_path}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2):  # noqa: S310
                    return
            time.sleep(0.3)
        self.stop()
        raise SystemExit(f"the web server did not answer in 120 s; see {log_path}")

    def processes(self) -> int:
        import psutil

        return len(psutil.Process(self.process.pid).children(recursive=True)) or 1

    def cpu_s(self) -> float:
        """CPU seconds of the launcher and every daphne process under it."""
        import psutil

        parent = psutil.Process(self.process.pid)
        total = 0.0
        for process in [parent, *parent.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                total += times.user + times.system
        return total

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.log.close()


def _get(url: str, key: str) -> tuple[int, float]:
    request = urllib.request.Request(url, headers={"X-Api-Key": key})  # noqa: S310
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        status = exc.code
    return status, (time.perf_counter() - started) * 1000


def _percentiles(values: list[float]) -> dict[str, float | None]:
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


def _locust(
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
        **_percentiles(timings["latency_ms"]),
        "server": _percentiles(timings["server_ms"]),
        "server_cpu_cores": round(server_cpu_s / max(wall_s, 1e-9), 2),
        "error_statuses": sorted(set(timings["errors"])),
        # The machine is shared: its 1-minute load average before and after this run.
        "load_avg_1m": [round(load_before, 1), round(os.getloadavg()[0], 1)],
    }


def _warm_up(server: Server, key: str, users: list[str], k: int, step_dir: Path) -> dict:
    """The first requests load the index and the encoder; then 50 one at a time."""
    serial = []
    for n, user in enumerate(users[:60]):
        status, ms = _get(f"{server.url}/api/recommender/users/{user}/recommendations/?k={k}", key)
        if status != 200:
            raise SystemExit(f"warm-up request answered {status}; see logs in {step_dir}")
        if n >= 10:
            serial.append(ms)
    return _percentiles(serial)


def _step(args: argparse.Namespace, *, n_items: int, clients: list[int], data: Path | None) -> dict:
    step_dir = WORK_DIR / f"items-{n_items}"
    shutil.rmtree(step_dir, ignore_errors=True)
    step_dir.mkdir(parents=True)
    env = _env(args, step_dir)
    _database_reset(args.postgres, create=True)
    _redis_clean(args.redis_url)
    server = None
    try:
        _run([sys.executable, "manage.py", "migrate", "-v", "0"], env, "migrate")
        prepare = [sys.executable, str(Path(__file__)), "_prepare", "--step-dir", str(step_dir)]
        prepare += ["--items", str(n_items), "--events", str(args.events)]
        prepare += ["--users", str(args.users), "--real-vectors-max", str(args.real_vectors_max)]
        if data is not None:
            prepare += ["--data", str(data)]
        _run(prepare, env, "data preparation")
        setup = json.loads((step_dir / "setup.json").read_text())
        key = (step_dir / "key").read_text().strip()
        users = json.loads((step_dir / "users.json").read_text())
        runs, serial = [], {}
        # Each server configuration in turn on the same data: the project's defaults first.
        for config, knobs in args.configs.items():
            server = Server({**env, **knobs}, step_dir / f"web-{config}.log")
            serial[config] = _warm_up(server, key, users, args.k, step_dir)
            processes = server.processes()
            for level in clients:
                run = {
                    "config": config,
                    "server_processes": processes,
                    **_locust(server, env, step_dir, level, args),
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
            _run(
                [sys.executable, str(Path(__file__)), "_profile", "--step-dir", str(step_dir)],
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
            _database_reset(args.postgres, create=False)
            _redis_clean(args.redis_url)
            shutil.rmtree(step_dir, ignore_errors=True)


def _prepare(args: argparse.Namespace) -> None:
    """In Django, inside the step's environment: rows, vectors, co-occurrence, key, users."""
    import django

    django.setup()
    from datetime import UTC, datetime

    from django.db import connection
    from tqdm import tqdm

    from apps.recommender.models import ShopClient
    from bench.recload import data as recdata
    from ml.registry import indexes

    step_dir = Path(args.step_dir)
    timings: dict[str, float] = {}
    started = time.monotonic()
    if args.data:
        dataset = recdata.from_csv(Path(args.data))
    else:
        dataset = recdata.synthetic(n_items=args.items, n_events=args.events, n_users=args.users)
    timings["generate_s"] = round(time.monotonic() - started, 1)
    client, key = ShopClient.create_with_key(name="bench")
    started = time.monotonic()
    connection.ensure_connection()
    recdata.copy_into(connection.connection, dataset, client_id=client.id)
    timings["copy_s"] = round(time.monotonic() - started, 1)

    index_name = "recommender_items"
    if index_name not in indexes.index_names():
        raise SystemExit(
            f"no '{index_name}' index is registered: is the recommender API installed?"
        )
    started = time.monotonic()
    real = dataset.n_items <= args.real_vectors_max
    if real:
        bar = tqdm(total=100, desc="  embedding items", unit="%")
        last = [0]

        def progress(fraction: float) -> None:
            bar.update(max(0, int(fraction * 100) - last[0]))
            last[0] = max(last[0], int(fraction * 100))

        indexes.index_rebuild(name=index_name, progress=progress)
        bar.close()
    else:
        with indexes.index_writer(name=index_name, fresh=True) as index:
            for ids, vectors in tqdm(
                recdata.synthetic_vectors(dataset, index.dim),
                total=-(-dataset.n_items // 50_000),
                desc="  synthetic vectors",
            ):
                index.upsert(ids, vectors)
    timings["vectors_s"] = round(time.monotonic() - started, 1)

    from apps.recommender.services import cooccurrence_refresh

    started = time.monotonic()
    cooccurrence_refresh(client_id=client.id, now=datetime.now(UTC))
    timings["cooccurrence_s"] = round(time.monotonic() - started, 1)

    (step_dir / "key").write_text(key)
    recdata.write_users(step_dir / "users.json", dataset.warm_users(5000))
    (step_dir / "setup.json").write_text(
        json.dumps(
            {
                "items": dataset.n_items,
                "events": int(dataset.event_user.size),
                "users": len(dataset.user_external),
                "vectors": "encoder" if real else "synthetic",
                "data": str(args.data) if args.data else "synthetic",
                **timings,
            }
        )
    )


def _profile(args: argparse.Namespace) -> None:
    """cProfile over 30 requests through the Django test client (same code, no HTTP server)."""
    import cProfile
    import io
    import pstats

    import django

    django.setup()
    from django.test import Client

    step_dir = Path(args.step_dir)
    key = (step_dir / "key").read_text().strip()
    users = json.loads((step_dir / "users.json").read_text())
    client = Client(HTTP_X_API_KEY=key)

    def ask(user: str) -> None:
        response = client.get(f"/api/recommender/users/{user}/recommendations/?k=10")
        assert response.status_code == 200, response.content  # noqa: S101

    for user in users[:5]:
        ask(user)  # warm: index, caches
    profiler = cProfile.Profile()
    profiler.enable()
    for user in users[5:35]:
        ask(user)
    profiler.disable()
    buffer = io.StringIO()
    stats = pstats.Stats(profiler, stream=buffer).sort_stats("cumulative")
    stats.print_stats(30)
    total_s = stats.total_tt
    (step_dir / "profile.json").write_text(
        json.dumps(
            {"requests": 30, "total_s": round(total_s, 3), "top_cumulative": buffer.getvalue()}
        )
    )


def _table(result: dict) -> str:
    lines = [
        f"{'items':>9} {'events':>9} {'config':>9} {'clients':>7} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'req/s':>7} {'srv p50':>8} {'srv p99':>8} {'errors':>6} {'srv cores':>9} {'load':>9}"
    ]
    for step in result["steps"]:
        for run in step["runs"]:
            lines.append(
                f"{step['items']:>9} {step['setup']['events']:>9} {run['config']:>9} "
                f"{run['clients']:>7} {run['p50_ms']!s:>8} {run['p99_ms']!s:>8} "
                f"{run['req_per_s']:>7} {run['server']['p50_ms']!s:>8} "
                f"{run['server']['p99_ms']!s:>8} {run['errors']:>6} "
                f"{run['server_cpu_cores']:>9} {'/'.join(map(str, run['load_avg_1m'])):>9}"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "command", nargs="?", default="run", choices=["run", "_prepare", "_profile"]
    )
    parser.add_argument("--data", type=Path)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--clients", default="1,16,64")
    parser.add_argument("--scale-items", default="10000,100000,1000000")
    parser.add_argument("--scale-clients", type=int, default=TARGET_CLIENTS)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--real-vectors-max", type=int, default=20_000)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument(
        "--postgres", default=os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL"))
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        metavar="NAME:VAR=VALUE,...",
        help="a server configuration to measure besides the project's defaults (repeatable); "
        f"default: {DEFAULT_TUNED}",
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--step-dir")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "rec_load.json")
    args = parser.parse_args(argv)
    args.configs = {"defaults": {}}
    for spec in args.config or [DEFAULT_TUNED]:
        name, _, knobs = spec.partition(":")
        args.configs[name] = dict(k.split("=", 1) for k in knobs.split(",") if k)
    if args.command == "_prepare":
        _prepare(args)
        return 0
    if args.command == "_profile":
        _profile(args)
        return 0

    if args.data is not None:
        missing = [n for n in ("items.csv", "events.csv") if not (args.data / n).is_file()]
        if missing:
            print(f"{args.data} lacks {', '.join(missing)}; nothing to measure.")
            return 0
    try:
        _admin_connect(args.postgres).close()
    except Exception as exc:  # noqa: BLE001 - any connection failure means: no database here
        print(f"PostgreSQL at {args.postgres} is not reachable ({exc}); nothing to measure.")
        return 0
    main_clients = [int(c) for c in args.clients.split(",") if c]
    sizes = sorted({int(n) for n in args.scale_items.split(",") if n} | {args.items})
    result = {
        **result_header("bench/rec_load.py"),
        "target": {"p99_ms": TARGET_P99_MS, "clients": TARGET_CLIENTS},
        "seconds_per_run": args.seconds,
        "k": args.k,
        "server_configs": args.configs,
        "redis": bool(args.redis_url),
        "steps": [],
    }
    for n_items in sizes:
        is_main = n_items == args.items
        print(f"step: {n_items} items", flush=True)
        step = _step(
            args,
            n_items=n_items,
            clients=main_clients if is_main else [args.scale_clients],
            data=args.data if is_main else None,
        )
        step["main"] = is_main
        result["steps"].append(step)
        result_write(args.out, result)  # after each step: a long run keeps what it measured
    main_step = next(s for s in result["steps"] if s["main"])
    result["target"]["p99_ms_measured"] = {
        r["config"]: r["p99_ms"] for r in main_step["runs"] if r["clients"] == TARGET_CLIENTS
    }
    result["target"]["met"] = {
        config: p99 is not None and p99 < TARGET_P99_MS
        for config, p99 in result["target"]["p99_ms_measured"].items()
    }
    result["p99_by_items"] = {
        config: {
            str(s["items"]): next(
                (
                    r["p99_ms"]
                    for r in s["runs"]
                    if r["clients"] == args.scale_clients and r["config"] == config
                ),
                None,
            )
            for s in result["steps"]
        }
        for config in args.configs
    }
    result_write(args.out, result)
    print(_table(result))
    print(f"wrote {args.out}")
    if not args.keep:
        shutil.rmtree(WORK_DIR, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

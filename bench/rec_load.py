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
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import RESULTS_DIR, result_header, result_write  # noqa: E402
from bench.recload.report import table  # noqa: E402
from bench.recload.runs import step_run  # noqa: E402
from bench.recload.setup import WORK_DIR, admin_connect, prepare, profile  # noqa: E402

TARGET_P99_MS = 50.0
TARGET_CLIENTS = 16
# Measured next to the defaults: the single daphne process the project served with before
# config/web.py (one process is one core at most, whatever the machine has).
DEFAULT_TUNED = "one-process:WEB_CONCURRENCY=1"


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
        prepare(args)
        return 0
    if args.command == "_profile":
        profile(args)
        return 0

    if args.data is not None:
        missing = [n for n in ("items.csv", "events.csv") if not (args.data / n).is_file()]
        if missing:
            print(f"{args.data} lacks {', '.join(missing)}; nothing to measure.")
            return 0
    try:
        admin_connect(args.postgres).close()
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
        step = step_run(
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
    print(table(result))
    print(f"wrote {args.out}")
    if not args.keep:
        shutil.rmtree(WORK_DIR, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

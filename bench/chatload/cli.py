"""Command line of the chat load test (`python bench/chat_load.py`): arguments, setup, servers,
the client process, and the result JSON."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.chatload import __doc__ as package_doc
from bench.chatload.client import client_main
from bench.chatload.knowledge import KnowledgeBase, build_knowledge_base
from bench.chatload.measure import answer_stats, capacity, print_table
from bench.chatload.server import Server, server_env
from bench.chatload.setup import prepare, sqlite_commit_ms, sqlite_journal_mode
from bench.common import BANKING77_DIR, RESULTS_DIR, ROOT, result_header, result_write

DEFAULT_DATA = BANKING77_DIR
DEFAULT_OUT = RESULTS_DIR / "chat_load.json"
DEFAULT_CACHE = ROOT / "var" / "bench" / "chat_load"
ENTRY_SCRIPT = ROOT / "bench" / "chat_load.py"
TARGETS = {"capacity_with_batching_msgs_per_s": 150.0, "batching_speedup": 2.0}


def run_client_process(
    servers: dict[str, Server], args: argparse.Namespace, kb: KnowledgeBase, run_dir: Path
) -> dict[str, Any]:
    cfg = {
        "servers": [s.ref() for s in servers.values()],
        "questions": kb.questions,
        "rates": args.rates,
        "clients": args.clients,
        "seconds": args.seconds,
        "drain_s": args.drain_s,
        "budget_ms": args.budget_ms,
        "stop_p99_ms": args.stop_p99_ms,
        "seed": args.seed,
        "out": str(run_dir / "client-results.json"),
    }
    config_path = run_dir / "client-config.json"
    config_path.write_text(json.dumps(cfg), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    completed = subprocess.run(  # noqa: S603
        [sys.executable, str(ENTRY_SCRIPT), "--client-worker", str(config_path)],
        env=env,
        check=False,
    )
    if completed.returncode != 0:
        tails = "\n".join(f"--- {m}\n{s.log_tail()}" for m, s in servers.items())
        raise SystemExit(f"the client process failed ({completed.returncode}); servers:\n{tails}")
    return json.loads(Path(cfg["out"]).read_text())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--client-worker"]:
        return client_main(Path(argv[1]))
    parser = argparse.ArgumentParser(description=package_doc.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--phrasings", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rates", default="25,50,100,150,200,300", help="msgs/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="sending time per rate")
    parser.add_argument("--modes", default="on,off", help="batching modes to run: on, off")
    parser.add_argument("--budget-ms", type=float, default=150.0, help="p99 round-trip budget")
    parser.add_argument("--stop-p99-ms", type=float, default=1000.0)
    parser.add_argument("--drain-s", type=float, default=15.0, help="wait for late replies")
    parser.add_argument("--asgi-threads", type=int, default=None, help="server thread pool")
    parser.add_argument("--batch-max-size", type=int, default=None)
    parser.add_argument("--batch-max-wait-ms", type=float, default=None)
    parser.add_argument("--db-conn-max-age", type=int, default=None)
    parser.add_argument(
        "--torch-threads", type=int, default=None, help="OMP_NUM_THREADS for the servers"
    )
    parser.add_argument(
        "--encoder-int8",
        choices=["auto", "1", "0"],
        default="auto",
        help="ML_ENCODER_INT8 in the servers (auto: int8 in ONNX Runtime, the project default)",
    )
    parser.add_argument(
        "--encoder-runtime",
        choices=["auto", "torch", "onnx"],
        default="auto",
        help="ML_ENCODER_RUNTIME in the servers (auto: onnx on CPU, the project default)",
    )
    parser.add_argument("--device", default="auto", help="ML_DEVICE for the servers")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument(
        "--sqlite-wal",
        action="store_true",
        help="SQLite in WAL mode, synchronous=NORMAL, IMMEDIATE transactions",
    )
    parser.add_argument(
        "--sqlite-dir",
        type=Path,
        default=None,
        help="where the SQLite file goes (default: the system temp dir; commit cost is that "
        "disk's fsync time)",
    )
    parser.add_argument("--redis-url", default=None, help="default: embedded mode, no Redis")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument(
        "--build-threads", type=int, default=None, help="torch threads for the index build"
    )
    parser.add_argument(
        "--setup-only", action="store_true", help="build the cached database and index, then stop"
    )
    parser.add_argument(
        "--server-processes",
        type=int,
        default=1,
        help="Daphne processes per batching mode; sockets spread over them round-robin "
        "(pass --redis-url with more than one, as a deployment would)",
    )
    parser.add_argument("--profile", action="store_true", help="sample the servers' threads")
    parser.add_argument(
        "--cprofile",
        action="store_true",
        help="also cProfile every server thread (slows them down; implies --profile)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep-run-dir", action="store_true", help="keep logs and database")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.rates = sorted({float(r) for r in args.rates.split(",") if r.strip()})
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not args.rates or min(args.rates) <= 0 or args.clients < 1 or args.phrasings < 1:
        parser.error("--rates must be positive; --clients and --phrasings >= 1")
    if args.server_processes < 1:
        parser.error("--server-processes must be >= 1")
    if not modes or set(modes) - {"on", "off"}:
        parser.error("--modes takes on and/or off")

    if not (args.data / "train.csv").is_file():
        print(f"chat_load skipped: {args.data}/train.csv not found (pass --data DIR)")
        return 0

    kb = build_knowledge_base(args.data, args.phrasings, args.seed)
    run_dir = Path(tempfile.mkdtemp(prefix="chat_load-", dir=args.sqlite_dir))
    try:
        return _run(args, modes, kb, run_dir)
    finally:
        if args.keep_run_dir:
            print(f"run dir kept: {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


def _run(args: argparse.Namespace, modes: list[str], kb: KnowledgeBase, run_dir: Path) -> int:
    setup = prepare(args, kb, run_dir)
    if args.setup_only:
        print(f"setup done: {setup.info}")
        return 0
    database_url, artifacts, var_dir = setup.database_url, setup.artifacts, setup.var_dir

    from django.conf import settings
    from django.db import connection

    from ml.device import resolve_device

    device = resolve_device(args.device)
    servers = {
        mode: Server(
            mode,
            {
                **server_env(args, database_url, artifacts, var_dir),
                "ML_BATCHING": str(int(mode == "on")),
            },
            run_dir,
            args.profile or args.cprofile,
            args.cprofile,
            args.server_processes,
        )
        for mode in modes
    }
    load_before = os.getloadavg()
    try:
        for server in servers.values():
            server.start()
        for server in servers.values():
            server.wait_healthy()
        raw = run_client_process(servers, args, kb, run_dir)
        server_logs = {m: s.log_tail() for m, s in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
    load_after = os.getloadavg()
    results, warm = raw["modes"], raw["warm_up_s"]
    for result in results.values():
        for step in result["steps"]:
            window = step.pop("window_unix")
            step.update(answer_stats((window[0], window[1])))
        result["capacity_msgs_per_s"] = capacity(result["steps"])

    env = server_env(args, database_url, artifacts, var_dir)
    threads = int(env.get("ASGI_THREADS") or min(32, (os.cpu_count() or 1) + 4))
    caps = {mode: results[mode]["capacity_msgs_per_s"] for mode in results}
    ratio = caps["on"] / caps["off"] if {"on", "off"} <= set(caps) and caps["off"] else None
    result: dict[str, Any] = {
        **result_header("chat_load", device=device),
        "load_avg": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in load_after],
            "note": "1, 5, 15 minute load averages of the whole machine",
        },
        "data": str(args.data),
        "phrasings": len(kb.phrasings),
        "entries": len(kb.entries),
        "questions": len(kb.questions),
        "question_source": kb.question_source,
        "clients": args.clients,
        "seconds_per_rate": args.seconds,
        "rates_msgs_per_s": args.rates,
        "budget_p99_ms": args.budget_ms,
        "settings": {
            "ML_BATCH_MAX_SIZE": int(env.get("ML_BATCH_MAX_SIZE") or settings.ML_BATCH_MAX_SIZE),
            "ML_BATCH_MAX_WAIT_MS": float(
                env.get("ML_BATCH_MAX_WAIT_MS") or settings.ML_BATCH_MAX_WAIT_MS
            ),
            "ASGI_THREADS": threads,
            "server_processes_per_mode": args.server_processes,
            "ASGI_THREADS_set": "ASGI_THREADS" in env,
            "DB_CONN_MAX_AGE": int(
                env.get("DB_CONN_MAX_AGE") or settings.DATABASES["default"]["CONN_MAX_AGE"]
            ),
            "ML_ENCODER_INT8": args.encoder_int8,
            "ML_ENCODER_RUNTIME": args.encoder_runtime,
            "server_torch_threads": int(env["OMP_NUM_THREADS"])
            if env.get("OMP_NUM_THREADS")
            else "torch default (one per core)",
            "database": connection.vendor,
            **(
                {
                    "sqlite_dir": str(run_dir.parent),
                    "sqlite_journal_mode": sqlite_journal_mode(),
                    "sqlite_options": dict(settings.DATABASES["default"].get("OPTIONS", {})),
                    "sqlite_commit_ms": sqlite_commit_ms(run_dir),
                }
                if connection.vendor == "sqlite"
                else {}
            ),
            "channel_layer": f"redis {env.get('CHANNEL_LAYER', 'pubsub')}"
            if args.redis_url
            else "in-memory",
            "index_kind": "hnsw"
            if len(kb.phrasings) >= settings.CHAT_INDEX_APPROXIMATE_THRESHOLD
            else "flat",
            "intent_classifier": "none (retrieval only: no chat.intent model promoted)",
            "server_log_level": "WARNING",
            "cpu_pinning": "none: client and servers share every CPU",
        },
        "setup": setup.info,
        "warm_up_s": warm,
        "modes": results,
        "capacity_msgs_per_s": caps,
        "batching_speedup": round(ratio, 2) if ratio is not None else None,
        "targets": {
            **TARGETS,
            "capacity_met": caps.get("on", 0.0) >= TARGETS["capacity_with_batching_msgs_per_s"],
            "speedup_met": ratio is not None and ratio >= TARGETS["batching_speedup"],
        },
    }
    errors_seen = any(s["errors"] for r in results.values() for s in r["steps"])
    if errors_seen:
        result["server_log_tails"] = server_logs
    print()
    print(
        f"device={device} cpus={os.cpu_count()} phrasings={len(kb.phrasings)} "
        f"clients={args.clients} processes={args.server_processes} threads={threads} "
        f"batch<={result['settings']['ML_BATCH_MAX_SIZE']} "
        f"wait {result['settings']['ML_BATCH_MAX_WAIT_MS']} ms  load {load_before[0]:.2f} -> "
        f"{load_after[0]:.2f}"
    )
    print_table(results)
    if ratio is not None:
        print(f"batching speedup (capacity on / off): {ratio:.2f}x")
    print(f"targets: {result['targets']}")
    result_write(args.out, result)
    print(f"wrote {args.out}")
    return 0

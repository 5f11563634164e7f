"""Each step's surroundings: the scratch database, Redis keys and environment, and the two
in-Django subcommands the step runs (`_prepare`: rows, vectors, co-occurrence, key, users;
`_profile`: cProfile over in-process requests)."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

from bench.common import ROOT

DB_NAME = "tessera_bench_rec_load"
WORK_DIR = ROOT / "var" / "bench" / "rec_load"
REDIS_PREFIX = "tessera-bench-rec-load:"


def admin_connect(postgres: str):  # noqa: ANN202
    import psycopg

    return psycopg.connect(f"{postgres}/postgres", autocommit=True, connect_timeout=5)


def database_reset(postgres: str, *, create: bool) -> None:
    with admin_connect(postgres) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        if create:
            admin.execute(f'CREATE DATABASE "{DB_NAME}"')


def redis_clean(redis_url: str | None) -> None:
    if not redis_url:
        return
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{REDIS_PREFIX}*", count=1000))
    for start in range(0, len(keys), 1000):
        client.delete(*keys[start : start + 1000])
    client.close()


def step_env(args: argparse.Namespace, step_dir: Path) -> dict[str, str]:
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


def run_command(command: list[str], env: dict[str, str], what: str) -> None:
    result = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise SystemExit(f"{what} failed (exit {result.returncode})")


def prepare(args: argparse.Namespace) -> None:
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


def profile(args: argparse.Namespace) -> None:
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

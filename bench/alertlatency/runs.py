"""One run, start to finish: scratch database, mailbox, model, Celery workers and beat, then
the measured burst; everything started here is stopped (and the database dropped) afterwards."""

from __future__ import annotations

import argparse
import os
import random
import secrets
import subprocess
from pathlib import Path
from typing import Any

from bench.alertlatency.burst import measure
from bench.alertlatency.model import model_train_and_promote
from bench.alertlatency.report import say
from bench.alertlatency.stack import (
    free_port,
    mailbox_start,
    scratch_database,
    start_process,
    stop_process,
    wait_for,
)


def run(args: argparse.Namespace, pairs: list[tuple[str, str]], work: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    run_id = secrets.token_hex(4)
    database_url = scratch_database(os.environ["DATABASE_URL"])
    smtp_port = free_port()
    env_overrides = {
        "DATABASE_URL": database_url,
        "TESSERA_VAR_DIR": str(work / "var"),
        "ML_ARTIFACTS_DIR": str(work / "artifacts"),
        "TESSERA_REDIS_PREFIX": f"bench-alert-latency-{run_id}:",
        "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
        "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(40),
        "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        "ML_PRELOAD": "0",
        "LOG_LEVEL": os.environ.get("LOG_LEVEL", "WARNING"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "SECURE_SSL_REDIRECT": "0",
        "PYTHONUNBUFFERED": "1",
    }
    os.environ.update(env_overrides)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    processes: list[subprocess.Popen] = []
    mailbox = None
    try:
        accepted, mailbox = mailbox_start(smtp_port, work / "mailbox")
        version = model_train_and_promote(args, pairs, work, rng)
        say(
            f"model: sentiment.headline v{version.version} promoted, held-out accuracy "
            f"{version.metrics.get('accuracy', float('nan')):.3f}"
        )
        worker_env = {**os.environ, **env_overrides}
        # One worker on both queues (the default), or one per queue as ARCHITECTURE.md deploys
        # them, so alert evaluation never waits behind a scoring batch.
        plan = (
            [("gpu", args.concurrency), ("default", 1)]
            if args.split_queues
            else [("default,gpu", args.concurrency)]
        )
        worker_logs = []
        for queues, concurrency in plan:
            log_path = work / f"worker-{queues.replace(',', '-')}.log"
            worker_logs.append(log_path)
            processes.append(
                start_process(
                    [
                        "worker",
                        "-Q",
                        queues,
                        "--concurrency",
                        str(concurrency),
                        "--prefetch-multiplier",
                        "1",
                        "--without-gossip",
                        "--without-mingle",
                        "-n",
                        f"bench-{queues.replace(',', '-')}-{run_id}@%h",
                        "--loglevel",
                        "INFO",
                    ],
                    worker_env,
                    log_path,
                )
            )
        processes.append(
            start_process(
                ["beat", "--loglevel", "WARNING", "-s", str(work / "beat-schedule")],
                worker_env,
                work / "beat.log",
            )
        )
        wait_for(
            lambda: all("ready." in log.read_text() for log in worker_logs),
            timeout_s=180,
            what="the Celery workers",
        )
        return measure(args, pairs, rng, run_id, accepted)
    finally:
        for process in processes:
            stop_process(process)
        if mailbox is not None:
            mailbox.stop()
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            scratch_database(database_url, drop_only=True)

"""End to end: from an article's arrival at the push API to its alert email accepted by SMTP.

Usage:
    .venv/bin/python bench/alert_latency.py --data DIR [--articles 1000] [--topics 10]
        [--batch 100] [--negative-share 0.8] [--train-n 600] [--epochs 1] [--concurrency 2]
        [--timeout-s 600] [--split-queues] [--keep-db] [--model-cache DIR]
        [--out bench/results/alert_latency.json]

DIR is the Financial PhraseBank folder (`Sentences_50Agree.txt`, `sentence@label`, latin-1) or
any folder with a `train.csv` (`text,label`: positive / neutral / negative). Without it, or
without PostgreSQL and Redis (DATABASE_URL=postgres://..., REDIS_URL), the script says so and
exits 0.

What runs, all for real: a scratch PostgreSQL database (`<DATABASE_URL's name>_alert_latency`,
dropped afterwards unless --keep-db); the mailbox SMTP server (apps/sentiment/mailbox.py,
aiosmtpd, in this process) as EMAIL_URL; a `sentiment.headline` model fine-tuned here through
the registry (--train-n stratified PhraseBank sentences, --epochs) and promoted; one Celery
worker on both queues (`default,gpu`, --concurrency processes; --split-queues: one per queue)
and celery beat; the push API through Django's test client in this process, with an
IngestClient key. The 1-minute load average is recorded: other jobs on the machine slow the
workers and show in the latency.

Scenario: --topics companies (aliases only), one alert rule over every topic (15 min window,
at least 10 articles, negative share 0.5, surge factor 2, 60 min cooldown) and one subscriber.
The workers are warmed (a few unrelated articles scored) before the clock starts. Then the
burst: --articles headlines, "<company>: <PhraseBank sentence>", spread evenly over the
companies, --negative-share of them from negative sentences (the rest neutral), shuffled and
pushed in requests of --batch rows back to back; each article's arrival is the moment its
request was sent, its publication time that moment too.

Latency of an article = when the SMTP server accepted its topic's alert email (the handler
records it after the message is on disk) minus the article's arrival. Counted: every article
that arrived before its topic's alert fired (later ones arrive during the cooldown: no email is
due for them, they are reported as `after_alert`). Articles of a topic whose email never came
within --timeout-s are `missed`; any miss makes p99 undefined (reported as null).
Also per alert: the first article's arrival, when the alert fired and when its email was
accepted. Writes bench/results/alert_latency.json.
"""

from __future__ import annotations

import argparse
import csv
import email
import hashlib
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import result_header, result_write  # noqa: E402 - needs ROOT on sys.path

DEFAULT_OUT = ROOT / "bench" / "results" / "alert_latency.json"
TARGET_P99_S = 60.0
COMPANIES = [
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Corp",
    "Hooli",
    "Stark Industries",
    "Wayne Enterprises",
    "Cyberdyne Systems",
    "Soylent Corp",
    "Tyrell Corp",
    "Wonka Industries",
    "Vandelay Industries",
    "Monarch Solutions",
    "Oscorp",
    "Gringotts Bank",
    "Duff Brewing",
]
WARMUP_TITLES = [
    "Market wrap: indexes end the session little changed",
    "Currency desk: the euro trades in a narrow range",
    "Commodities: copper steady ahead of inventory data",
    "Bond markets: yields drift as traders await the auction",
]


def _say(message: str) -> None:
    print(message, flush=True)


# --- data -------------------------------------------------------------------------------


def read_sentences(data: Path) -> list[tuple[str, str]] | None:
    """(sentence, label) pairs, or None when DIR holds neither format."""
    phrasebank = data / "Sentences_50Agree.txt"
    if phrasebank.is_file():
        pairs = []
        for line in phrasebank.read_text(encoding="latin-1").splitlines():
            text, _, label = line.rpartition("@")
            if text.strip() and label.strip() in {"positive", "neutral", "negative"}:
                pairs.append((text.strip(), label.strip()))
        return pairs
    train = data / "train.csv"
    if train.is_file():
        with train.open(newline="", encoding="utf-8-sig") as handle:
            return [
                (row["text"].strip(), row["label"].strip())
                for row in csv.DictReader(handle)
                if row.get("text", "").strip() and row.get("label")
            ]
    return None


def training_csv(pairs: list[tuple[str, str]], n: int, path: Path, rng: random.Random) -> Path:
    """A stratified sample of `n` sentences as the registry's `text,label` CSV."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in pairs:
        by_label[label].append(text)
    chosen: list[tuple[str, str]] = []
    for label, texts in sorted(by_label.items()):
        take = max(1, round(n * len(texts) / len(pairs)))
        chosen += [(text, label) for text in rng.sample(texts, min(take, len(texts)))]
    rng.shuffle(chosen)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(chosen)
    return path


@dataclass(frozen=True)
class BurstArticle:
    row: dict[str, Any]
    topic: str
    negative: bool


def burst_articles(
    pairs: list[tuple[str, str]],
    *,
    topics: list[str],
    n: int,
    negative_share: float,
    run_id: str,
    rng: random.Random,
) -> list[BurstArticle]:
    negatives = [t for t, label in pairs if label == "negative"]
    neutrals = [t for t, label in pairs if label == "neutral"]
    # Each topic draws its sentences without replacement: "<company>: <sentence>" never repeats
    # (a repeat would be a duplicate by content hash, not a new article).
    draws = {
        topic: (
            iter(rng.sample(negatives, len(negatives))),
            iter(rng.sample(neutrals, len(neutrals))),
        )
        for topic in topics
    }
    articles = []
    for i in range(n):
        topic = topics[i % len(topics)]
        negative = rng.random() < negative_share
        sentence = next(draws[topic][0 if negative else 1])
        articles.append(
            BurstArticle(
                row={
                    "id": f"{run_id}-{i}",
                    "title": f"{topic}: {sentence}"[:1000],
                    "body": "",
                    "url": f"https://bench.example/{run_id}/{i}",
                    "source": "Bench Wire",
                    "language": "en",
                },
                topic=topic,
                negative=negative,
            )
        )
    rng.shuffle(articles)
    return articles


# --- services ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def scratch_database(url: str, *, drop_only: bool = False) -> str:
    """A fresh, empty database next to DATABASE_URL's; returns its URL."""
    import psycopg

    parts = urlsplit(url)
    name = f"{parts.path.lstrip('/') or 'tessera'}_alert_latency"
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            connection.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


def start_process(args: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    log = log_path.open("w")
    return subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "celery", "-A", "config", *args],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for(predicate: Any, *, timeout_s: float, what: str, poll_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout_s:g} s waiting for {what}")
        time.sleep(poll_s)


# --- the run ----------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    import numpy as np

    return float(np.percentile(np.asarray(values), q))


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
        accepted, mailbox = _mailbox_start(smtp_port, work / "mailbox")
        version = _model_train_and_promote(args, pairs, work, rng)
        _say(
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
        return _measure(args, pairs, rng, run_id, accepted)
    finally:
        for process in processes:
            stop_process(process)
        if mailbox is not None:
            mailbox.stop()
        from django.db import connections

        connections.close_all()
        if not args.keep_db:
            scratch_database(database_url, drop_only=True)


def _mailbox_start(port: int, path: Path) -> tuple[dict[str, float], Any]:
    """s-alerts' mailbox server; its handler also notes when each message was accepted."""
    from aiosmtpd.controller import Controller

    from apps.sentiment.mailbox import MaildirHandler

    accepted: dict[str, float] = {}

    class TimedHandler(MaildirHandler):
        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
            reply = await super().handle_DATA(server, session, envelope)
            content = envelope.original_content or envelope.content
            if isinstance(content, str):
                content = content.encode()
            message_id = email.message_from_bytes(content)["Message-ID"] or ""
            accepted.setdefault(message_id.strip(), time.time())
            return reply

    controller = Controller(TimedHandler(path), hostname="127.0.0.1", port=port, ready_timeout=10)
    controller.start()
    return accepted, controller


def _model_train_and_promote(
    args: argparse.Namespace, pairs: list[tuple[str, str]], work: Path, rng: random.Random
) -> Any:
    """Fine-tune `sentiment.headline` through the registry and promote it.

    The trained artifact and its row's fields are kept under --model-cache, keyed by the
    training data, hyperparameters and base model, so a rerun registers the same model in
    seconds instead of fine-tuning again (the bench measures alerting, not training).
    """
    from django.conf import settings

    from ml.registry import services
    from ml.registry.models import ModelVersion
    from ml.registry.services.queueing import version_dir

    dataset = training_csv(pairs, args.train_n, work / "headlines.csv", rng)
    hyperparameters = {"epochs": args.epochs, "max_seq_length": 64}
    key = hashlib.sha256(
        dataset.read_bytes()
        + json.dumps(hyperparameters, sort_keys=True).encode()
        + settings.ML_BASE_MODEL.encode()
    ).hexdigest()[:16]
    cached = args.model_cache / key
    if (cached / "version.json").is_file():
        fields = json.loads((cached / "version.json").read_text())
        version = ModelVersion.objects.create(
            task="sentiment.headline",
            version=1,
            base_model=settings.ML_BASE_MODEL,
            status=ModelVersion.Status.READY,
            progress=1.0,
            status_message="ready (bench model cache)",
            notes=f"bench/alert_latency.py, cached model {key}",
            **fields,
        )
        target = version_dir(version) / "model"
        shutil.copytree(cached / "model", target)
        version.artifact_path = str(target)
        version.save(update_fields=["artifact_path"])
        _say(f"model: cached fine-tune {key}")
    else:
        started = time.monotonic()
        _say(f"training sentiment.headline on {args.train_n} sentences ({args.epochs} epoch)...")
        queued = services.model_version_queue(
            task="sentiment.headline",
            base_model=settings.ML_BASE_MODEL,
            dataset_path=str(dataset),
            hyperparameters=hyperparameters,
            enqueue=False,
            notes="bench/alert_latency.py",
        )
        version = services.model_version_train(version_id=queued.id)
        _say(f"trained in {time.monotonic() - started:.0f} s")
        staging = cached.with_name(f"{key}.tmp")
        shutil.rmtree(staging, ignore_errors=True)
        shutil.copytree(version.artifact_path, staging / "model")
        fields = {
            name: getattr(version, name)
            for name in (
                "task_type",
                "hyperparameters",
                "dataset_fingerprint",
                "dataset_size",
                "metrics",
                "device",
                "train_seconds",
            )
        }
        (staging / "version.json").write_text(json.dumps(fields))
        shutil.rmtree(cached, ignore_errors=True)
        staging.rename(cached)
    return services.model_version_promote(version=version)


def _push(client: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post("/api/sentiment/articles/", {"articles": rows}, format="json")
    if response.status_code != 200:
        raise SystemExit(f"push API answered {response.status_code}: {response.content[:500]!r}")
    return response.json()


def _measure(
    args: argparse.Namespace,
    pairs: list[tuple[str, str]],
    rng: random.Random,
    run_id: str,
    accepted: dict[str, float],
) -> dict[str, Any]:
    from django.utils import timezone
    from rest_framework.test import APIClient

    from apps.sentiment.models import (
        Alert,
        AlertRule,
        Article,
        EmailOutbox,
        IngestClient,
        Subscription,
        Topic,
    )

    topics = COMPANIES[: args.topics]
    for name in topics:
        Topic.objects.create(name=name, slug=name.lower().replace(" ", "-"), aliases=[name])
    AlertRule.objects.create(
        name="bench: negative surge",
        topic=None,
        window_minutes=15,
        min_articles=10,
        negative_share_threshold=0.5,
        surge_factor=2.0,
        cooldown_minutes=60,
    )
    Subscription.objects.create(email="risk-desk@example.com")
    ingest_client, key = IngestClient.create_with_key(name=f"bench-{run_id}")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)

    # Warm-up: each worker process loads the model and encoder before the clock starts.
    warm_rows = [
        {
            "id": f"{run_id}-warm-{i}",
            "title": f"{title} ({run_id} {i})",
            "published_at": timezone.now().isoformat(),
        }
        for i, title in enumerate(WARMUP_TITLES * args.concurrency)
    ]
    for row in warm_rows:
        _push(client, [row])
    wait_for(
        lambda: not Article.objects.filter(client=ingest_client, sentiment="").exists(),
        timeout_s=args.timeout_s,
        what="the warm-up articles to be scored",
    )
    _say("workers warm; burst starts")

    burst = burst_articles(
        pairs,
        topics=topics,
        n=args.articles,
        negative_share=args.negative_share,
        run_id=run_id,
        rng=rng,
    )
    arrival: dict[str, float] = {}
    load_at_start = os.getloadavg()[0]
    burst_started = time.time()
    for start in range(0, len(burst), args.batch):
        chunk = burst[start : start + args.batch]
        sent_at = time.time()
        published = datetime.fromtimestamp(sent_at, tz=UTC).isoformat()
        body = _push(client, [{**a.row, "published_at": published} for a in chunk])
        if body["created"] != len(chunk):
            raise SystemExit(
                f"burst rows not all created: {body['duplicates']} duplicates, "
                f"{body['failed']} failed"
            )
        for article in chunk:
            arrival[article.row["id"]] = sent_at
    burst_s = time.time() - burst_started
    _say(f"burst of {len(burst)} pushed in {burst_s:.1f} s; waiting for alert emails")

    topic_ids = dict(Topic.objects.values_list("name", "id"))

    def emails_in() -> tuple[dict[int, Any], dict[int, float]]:
        """Each topic's fired alert, and when the email that told of it was accepted.

        One email per subscriber groups the alerts a rule fired in one evaluation (same rule,
        same fired_at); its outbox row points at the first of them.
        """
        alerts = {
            alert.topic_id: alert
            for alert in Alert.objects.filter(topic_id__in=topic_ids.values()).order_by("-fired_at")
        }
        accepted_by_event: dict[tuple[int, Any], float] = {}
        rows = EmailOutbox.objects.filter(kind=EmailOutbox.Kind.FIRED).values_list(
            "alert__rule_id", "alert__fired_at", "message_id"
        )
        for rule_id, fired_at, message_id in rows:
            if (at := accepted.get(message_id.strip())) is not None:
                event = (rule_id, fired_at)
                accepted_by_event[event] = min(accepted_by_event.get(event, at), at)
        received = {
            topic_id: accepted_by_event[(alert.rule_id, alert.fired_at)]
            for topic_id, alert in alerts.items()
            if (alert.rule_id, alert.fired_at) in accepted_by_event
        }
        return alerts, received

    deadline = time.monotonic() + args.timeout_s
    while len(emails_in()[1]) < len(topics) and time.monotonic() < deadline:
        time.sleep(0.5)
    alerts, received = emails_in()

    latencies: list[float] = []
    after_alert = missed = 0
    per_topic = []
    for name in topics:
        topic_id = topic_ids[name]
        ids = [a.row["id"] for a in burst if a.topic == name]
        alert = alerts.get(topic_id)
        email_at = received.get(topic_id)
        first = min(arrival[i] for i in ids)
        if alert is None or email_at is None:
            missed += len(ids)
            per_topic.append({"topic": name, "articles": len(ids), "alert": False})
            continue
        fired = alert.fired_at.timestamp()
        counted = [email_at - arrival[i] for i in ids if arrival[i] <= fired]
        after_alert += len(ids) - len(counted)
        latencies += counted
        per_topic.append(
            {
                "topic": name,
                "articles": len(ids),
                "alert": True,
                "counted": len(counted),
                "first_arrival_to_fired_s": round(fired - first, 2),
                "first_arrival_to_email_s": round(email_at - first, 2),
                "fired_to_email_s": round(email_at - fired, 2),
                "window_articles": alert.evidence.get("articles"),
                "window_negatives": alert.evidence.get("negatives"),
            }
        )
    p99 = None if missed else percentile(latencies, 99)
    return {
        "emails_accepted": len(accepted),
        "load_avg_1m_at_burst": round(load_at_start, 2),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "articles": len(burst),
        "topics": len(topics),
        "batch_rows": args.batch,
        "burst_push_s": round(burst_s, 2),
        "alerts_emailed": len(received),
        "counted": len(latencies),
        "after_alert": after_alert,
        "missed": missed,
        "latency_s": {
            "p50": percentile(latencies, 50),
            "p90": percentile(latencies, 90),
            "p99": p99,
            "max": max(latencies) if latencies else None,
        },
        "target_p99_s": TARGET_P99_S,
        "target_met": p99 is not None and p99 < TARGET_P99_S,
        "per_topic": per_topic,
    }


def print_table(result: dict[str, Any]) -> None:
    lat = result["latency_s"]

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    _say("")
    _say("arrival -> alert email accepted by SMTP")
    _say(
        f"{'articles':>10} {'topics':>7} {'counted':>8} {'missed':>7} "
        f"{'p50 s':>8} {'p90 s':>8} {'p99 s':>8} {'max s':>8} {'p99<60s':>8}"
    )
    _say(
        f"{result['articles']:>10} {result['topics']:>7} {result['counted']:>8} "
        f"{result['missed']:>7} {fmt(lat['p50']):>8} {fmt(lat['p90']):>8} {fmt(lat['p99']):>8} "
        f"{fmt(lat['max']):>8} {'yes' if result['target_met'] else 'no':>8}"
    )
    _say("")
    _say(f"{'topic':<20} {'articles':>8} {'1st->fired s':>13} {'fired->email s':>15}")
    for row in result["per_topic"]:
        if not row["alert"]:
            _say(f"{row['topic']:<20} {row['articles']:>8} {'no alert':>13}")
            continue
        _say(
            f"{row['topic']:<20} {row['articles']:>8} {row['first_arrival_to_fired_s']:>13} "
            f"{row['fired_to_email_s']:>15}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--topics", type=int, default=10, choices=range(1, len(COMPANIES) + 1))
    parser.add_argument("--batch", type=int, default=100, help="rows per API request")
    parser.add_argument("--negative-share", type=float, default=0.8)
    parser.add_argument("--train-n", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--timeout-s", type=float, default=600)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--split-queues",
        action="store_true",
        help="a worker per queue (gpu: --concurrency, default: 1) instead of one on both",
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--model-cache",
        type=Path,
        default=ROOT / "var" / "bench" / "alert_latency" / "models",
        help="where fine-tuned models are kept between runs",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    pairs = read_sentences(args.data)
    if not pairs:
        _say(f"{args.data}: no Sentences_50Agree.txt or train.csv (text,label); nothing measured")
        return 0
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get(
        "REDIS_URL"
    ):
        _say("needs DATABASE_URL=postgres://... and REDIS_URL (a real worker and broker)")
        return 0
    with tempfile.TemporaryDirectory(prefix="alert-latency-") as tmp:
        result = run(args, pairs, Path(tmp))
    print_table(result)
    params = {
        k: v for k, v in vars(args).items() if k not in {"data", "out", "keep_db", "model_cache"}
    }
    result_write(
        args.out,
        {**result_header("bench/alert_latency.py"), "params": params, "results": result},
    )
    _say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

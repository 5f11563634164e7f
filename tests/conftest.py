"""Shared fixtures: real services when configured, a real Celery worker process, tiny models."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip service-bound tests with a reason, unless CI demands every service."""
    required = os.environ.get("REQUIRE_SERVICES") == "1"
    database_url = os.environ.get("DATABASE_URL", "")
    missing = {
        "postgres": None
        if database_url.startswith("postgres")
        else "needs DATABASE_URL=postgres://",
        "redis": None if os.environ.get("REDIS_URL") else "needs REDIS_URL",
    }
    for item in items:
        for marker, reason in missing.items():
            if reason and item.get_closest_marker(marker):
                if required:
                    raise pytest.UsageError(f"{item.nodeid} {reason} and REQUIRE_SERVICES=1")
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def clean_broker() -> None:
    """Start every run with empty queues so no stale task from an earlier run gets consumed."""
    from django.conf import settings

    if settings.TESSERA_MODE == "redis":
        import redis

        client = redis.Redis.from_url(settings.REDIS_URL)
        keys = list(client.scan_iter(match=f"{settings.REDIS_KEY_PREFIX}*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
    else:
        shutil.rmtree(settings.BROKER_DIR, ignore_errors=True)
        for sub in ("queue", "processed", "results", "control"):
            (settings.BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)


@pytest.fixture
def artifacts_dir(settings, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: ANN001
    """Model versions written by this test land in a fresh folder."""
    path = tmp_path_factory.mktemp("artifacts")
    settings.ML_ARTIFACTS_DIR = str(path)
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.tiny_model import make_tiny_model_dir

    return make_tiny_model_dir(tmp_path_factory.mktemp("tiny-model"))


def database_url_for_subprocess() -> str:
    """The URL of the database the tests are using right now (pytest-django's test DB)."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"


@pytest.fixture
def celery_worker_process(
    transactional_db: None,
    clean_broker: None,
    artifacts_dir: Path,
    tmp_path: Path,
    settings,  # noqa: ANN001
) -> Iterator[subprocess.Popen]:
    """A real `celery worker` process consuming both queues through the configured broker."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url_for_subprocess(),
        "ML_ARTIFACTS_DIR": str(artifacts_dir),
        "PYTHONUNBUFFERED": "1",
        "CELERY_TASK_ALWAYS_EAGER": "0",
    }
    log_path = tmp_path / "worker.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "-Q",
            "default,gpu",
            "--concurrency",
            "1",
            "--prefetch-multiplier",
            "1",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"test-{os.getpid()}@%h",
            "--loglevel",
            "INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"celery worker exited early:\n{log_path.read_text()}")
        if "ready." in log_path.read_text():
            break
        time.sleep(0.3)
    else:
        os.killpg(process.pid, signal.SIGKILL)
        raise RuntimeError(f"celery worker did not start in 90 s:\n{log_path.read_text()}")
    process.log_path = log_path  # type: ignore[attr-defined]
    yield process
    with contextlib.suppress(ProcessLookupError):  # a test may have killed it already
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    log.close()


TINY_TOPICS = {
    "refund": ["refund", "money back", "return", "reimburse"],
    "card": ["card", "visa", "pin", "contactless"],
    "password": ["password", "login", "locked out", "reset"],
}


@pytest.fixture(scope="session")
def tiny_dataset_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """96 short questions over 3 labels that even a tiny random model can separate."""
    from ml.training import Example, write_examples_csv

    templates = [
        "how do i get my {}",
        "question about {} please",
        "{} not working",
        "help with {}",
        "where is my {}",
        "i need a {} now",
        "what about the {}",
        "{}?",
    ]
    examples = [
        Example(text=template.format(word), label=label)
        for label, words in TINY_TOPICS.items()
        for word in words
        for template in templates
    ]
    path = tmp_path_factory.mktemp("data") / "tiny_intents.csv"
    write_examples_csv(path, examples)
    return path


TINY_HYPERPARAMETERS = {
    "epochs": 6,
    "batch_size": 16,
    "learning_rate": 2e-3,
    "early_stopping_patience": 0,
    "validation_fraction": 0.2,
    "max_seq_length": 32,
}

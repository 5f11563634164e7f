"""Loaded by pytest before Django settings (addopts -p): safe variables for test runs only.

Real values from the environment win (CI sets DATABASE_URL and REDIS_URL).
"""

from __future__ import annotations

import atexit
import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-0123456789abcdef")
os.environ.setdefault("DEBUG", "0")
# Tests close what they open: a connection kept by a finished thread would stop PostgreSQL
# from dropping the test database.
os.environ.setdefault("DB_CONN_MAX_AGE", "0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("CSRF_COOKIE_SECURE", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
# Each run gets its own var dir (SQLite file, filesystem broker), test database and Redis
# key prefix, so parallel runs on one machine never consume each other's tasks.
RUN_ID = f"run{os.getpid()}"
os.environ.setdefault("TESSERA_VAR_DIR", str(ROOT / "var" / "test" / RUN_ID))
os.environ.setdefault("TESSERA_TEST_DB_SUFFIX", RUN_ID)
os.environ.setdefault("TESSERA_REDIS_PREFIX", f"tessera-test-{RUN_ID}:")


@atexit.register
def _remove_run_dir() -> None:
    shutil.rmtree(ROOT / "var" / "test" / RUN_ID, ignore_errors=True)


os.environ.setdefault("ML_MODEL_REFRESH_S", "0.2")
# Tests load models when they need them; a background preload would race their fixtures.
os.environ.setdefault("ML_PRELOAD", "0")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

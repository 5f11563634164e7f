"""Settings fail loudly on unsafe production config and pass `check --deploy` when complete."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_missing_secret_key_with_debug_off_names_the_variable():
    result = run_manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_settings_pass_check_deploy_without_warnings():
    production = {
        "DEBUG": "0",
        "SECRET_KEY": "k3v!q9" * 10,
        "ALLOWED_HOSTS": "tessera.example.com",
        "SECURE_SSL_REDIRECT": "1",
        "SESSION_COOKIE_SECURE": "1",
        "CSRF_COOKIE_SECURE": "1",
        "STATIC_MANIFEST": "1",
    }
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **production)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_startup_log_says_which_mode_is_active():
    embedded = run_manage("check", DEBUG="1", REDIS_URL="")
    assert "tessera mode=embedded broker=filesystem" in embedded.stderr
    redis = run_manage("check", DEBUG="1", REDIS_URL="redis://127.0.0.1:6379/14")
    assert "tessera mode=redis" in redis.stderr


def test_an_unknown_int8_setting_names_the_choices():
    result = run_manage("check", DEBUG="1", ML_ENCODER_INT8="maybe")
    assert result.returncode != 0
    assert "ML_ENCODER_INT8='maybe': use auto, 1 or 0" in result.stderr

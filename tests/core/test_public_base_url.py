"""Links in emails follow the site's public origin; the demo points them at its own port."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from apps.core.management.commands.demo import serve_environment

ROOT = Path(__file__).resolve().parents[2]


def _setting(name: str, **env: str) -> str:
    code = (
        f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    )
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    environment.pop("SENTIMENT_ALERT_BASE_URL", None)
    done = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=environment, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_alert_links_default_to_the_public_base_url() -> None:
    public = "https://risk.example.com"
    assert _setting("SENTIMENT_ALERT_BASE_URL", PUBLIC_BASE_URL=public) == public


def test_demo_points_links_at_its_own_port_unless_the_shell_says(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    assert serve_environment("0.0.0.0", 8013)["PUBLIC_BASE_URL"] == "http://localhost:8013"  # noqa: S104
    assert serve_environment("127.0.0.1", 9000)["PUBLIC_BASE_URL"] == "http://127.0.0.1:9000"
    monkeypatch.setenv("PUBLIC_BASE_URL", "https://shop.example.com")
    assert serve_environment("0.0.0.0", 8013)["PUBLIC_BASE_URL"] == "https://shop.example.com"  # noqa: S104

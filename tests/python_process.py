"""Run Python code in a fresh interpreter at the project root, as a new server process would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_python(code: str, *, timeout: int = 120, **env: str) -> subprocess.CompletedProcess:
    """`python -c code` with this environment plus `env`; fails the test on a non-zero exit."""
    result = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result

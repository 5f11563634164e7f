"""bench/chat_load.py end to end: two real Daphne servers, real websockets, a tiny data set."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.bench.labelled_data import INTENTS, write_labelled_dataset

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "chat_load.py"
STEP_KEYS = {
    "rate_msgs_per_s",
    "sent",
    "answered",
    "msgs_per_s",
    "p50_ms",
    "p99_ms",
    "errors",
    "timeouts",
    "encoder_mean_batch",
    "answer_question_p50_ms",
    "cpu_cores",
    "within_budget",
}


def _run(*args: str, timeout_s: float = 150) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )


def test_load_run_reports_every_mode_and_rate(tmp_path: Path) -> None:
    data = write_labelled_dataset(tmp_path / "data")
    out = tmp_path / "chat_load.json"

    done = _run(
        "--data",
        str(data),
        "--phrasings",
        "200",
        "--rates",
        "5",
        "--seconds",
        "2",
        "--clients",
        "5",
        "--server-processes",
        "2",
        "--drain-s",
        "20",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--out",
        str(out),
    )

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["phrasings"] == 200
    assert result["entries"] == len(INTENTS)
    assert result["question_source"] == "test.csv"
    assert set(result["modes"]) == {"on", "off"}
    for mode in ("on", "off"):
        [step] = result["modes"][mode]["steps"]
        assert STEP_KEYS <= set(step), STEP_KEYS - set(step)
        assert step["sent"] > 0
        assert step["answered"] + step["timeouts"] + sum(step["errors"].values()) == step["sent"]
        assert step["answered"] == step["sent"], step
        assert 0 < step["p50_ms"] <= step["p99_ms"]
        assert step["answer_question_p50_ms"] > 0  # read back from the bot messages' evidence
        assert result["capacity_msgs_per_s"][mode] in (0.0, 5.0)
    assert result["modes"]["on"]["steps"][0]["encoder_batches"] > 0
    assert result["modes"]["off"]["steps"][0]["encoder_mean_batch"] == 1.0  # batcher off
    assert set(result["settings"]) >= {"ML_BATCH_MAX_SIZE", "ML_BATCH_MAX_WAIT_MS", "ASGI_THREADS"}
    assert result["settings"]["server_processes_per_mode"] == 2
    assert len(result["load_avg"]["before"]) == 3 and len(result["load_avg"]["after"]) == 3
    assert set(result["targets"]) >= {"capacity_met", "speedup_met"}
    # Built once, then kept for the next run under --cache-dir.
    assert result["setup"]["index"] == "built"
    assert (tmp_path / "cache" / result["setup"]["fingerprint"] / "db.sqlite3").is_file()


def test_missing_data_dir_is_skipped_with_a_message(tmp_path: Path) -> None:
    out = tmp_path / "chat_load.json"

    done = _run("--data", str(tmp_path / "nope"), "--out", str(out), timeout_s=60)

    assert done.returncode == 0
    assert "skipped" in done.stdout
    assert not out.exists()

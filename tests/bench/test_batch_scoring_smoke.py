"""bench/batch_scoring.py end to end on a tiny model: batched and single rows, and its skip."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from ml.training import TrainConfig, read_examples_csv, train_text_model
from tests.conftest import TINY_HYPERPARAMETERS

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "batch_scoring.py"


def run(*args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(  # noqa: S603
        [sys.executable, str(SCRIPT), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_without_data_it_says_it_needs_data_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "result.json"
    done = run("--out", str(out))
    assert "needs --data DIR" in done.stdout and not out.exists()


def test_batched_and_single_throughput_on_a_tiny_model(
    tmp_path: Path, tiny_model_dir: Path, tiny_dataset_csv: Path
) -> None:
    config = TrainConfig.from_dict(tiny_model_dir, {**TINY_HYPERPARAMETERS, "device": "cpu"})
    artifact = train_text_model(
        config, read_examples_csv(tiny_dataset_csv), tmp_path / "model"
    ).artifact_dir
    data = tmp_path / "data"
    data.mkdir()
    shutil.copy(tiny_dataset_csv, data / "intents.csv")  # one text,label CSV: split 80/20
    out = tmp_path / "result.json"

    run("--data", str(data), "--artifact", str(artifact), "--n", "16", "--single", "4",
        "--batch-sizes", "1,8", "--repeats", "1", "--out", str(out))  # fmt: skip

    result = json.loads(out.read_text())
    assert result["data"]["layout"] == "intents.csv split 80/20"
    assert result["data"]["scored_texts"] == 16
    rows = result["throughput"]
    assert set(rows) == {"batched_1", "batched_8", "single"}
    assert rows["single"]["texts"] == 4 and rows["batched_8"]["texts"] == 16
    assert all(row["texts_per_s"] > 0 for row in rows.values())
    assert rows["single"]["speedup_vs_single"] == 1.0
    assert 0.5 <= result["model"]["accuracy_on_scored_texts"] <= 1.0

"""bench/encode.py end to end on a tiny labelled set: throughput rows and retrieval per mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.bench.labelled_data import write_labelled_dataset

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "encode.py"


def test_throughput_batcher_and_retrieval_recall_for_each_cpu_encoder(tmp_path: Path) -> None:
    data = write_labelled_dataset(tmp_path / "data")
    out = tmp_path / "encode.json"

    done = subprocess.run(  # noqa: S603
        [
            sys.executable,
            str(SCRIPT),
            "--data",
            str(data),
            "--n",
            "16",
            "--batch-sizes",
            "1,8",
            "--single",
            "4",
            "--repeats",
            "1",
            "--clients",
            "4",
            "--retrieval-data",
            str(data),
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )

    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(out.read_text())
    assert set(result["throughput_texts_per_s"]) == {"fp32", "int8", "onnx", "onnx_int8"}
    for rates in result["throughput_texts_per_s"].values():
        assert set(rates) == {"single", "batch_1", "batch_8", "batcher_4"}
        assert all(rate > 0 for rate in rates.values())
    assert result["onnx_quality"]["cos_min"] > 0.9999  # the same model, another runtime
    retrieval = result["retrieval"]
    assert retrieval["n_train"] == 12 and retrieval["n_test"] == 12
    assert 0.97 < result["onnx_int8_quality"]["cos_min"] < 0.99999
    for name in ("fp32", "int8", "onnx", "onnx_int8"):
        # "hello, <train text>" finds its own intent: these are near-duplicates.
        assert retrieval[name]["recall_at_1"] >= 0.8
        assert retrieval[name]["recall_at_1"] <= retrieval[name]["recall_at_5"] <= 1.0
    assert "dense retrieval int8" in done.stdout

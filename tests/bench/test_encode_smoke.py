"""bench/encode.py end to end on a tiny labelled set: throughput rows and int8 retrieval."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "bench" / "encode.py"
INTENTS = {
    "card_arrival": ["where is my new card", "my card has not arrived yet", "card delivery"],
    "change_pin": ["how do I change my pin", "reset the pin code", "new pin number please"],
    "top_up": ["add money to my account", "top up failed", "how to top up by transfer"],
}


def test_throughput_and_retrieval_recall_for_fp32_and_int8(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name, prefix in (("train.csv", ""), ("test.csv", "hello, ")):
        with (data / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "category"])
            for intent, phrases in INTENTS.items():
                writer.writerows((f"{prefix}{phrase}", intent) for phrase in phrases)
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
    assert set(result["throughput_texts_per_s"]) == {"fp32", "int8"}
    retrieval = result["retrieval"]
    assert retrieval["n_train"] == 9 and retrieval["n_test"] == 9
    for name in ("fp32", "int8"):
        # "hello, <train text>" finds its own intent: these are near-duplicates.
        assert retrieval[name]["recall_at_1"] >= 0.8
        assert retrieval[name]["recall_at_1"] <= retrieval[name]["recall_at_5"] <= 1.0
    assert "dense retrieval int8" in done.stdout

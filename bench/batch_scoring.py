"""Batch-scoring throughput: texts/s batched vs one text at a time, same model, same run.

Usage:
    .venv/bin/python bench/batch_scoring.py --data DIR [--artifact DIR] [--train-n 400]
                                            [--epochs 1] [--n 512] [--single 64]
                                            [--batch-sizes 16,64,128] [--repeats 2]
                                            [--device cpu] [--threads N] [--out PATH]

--data DIR (required): a directory with `train.csv` and `test.csv`, or else any *.csv (the
first in sorted order, split 80/20 here), each with a header row holding a `text` column and
a `label` or `category` column (Banking77's format). Without it the script says so and exits
without measuring: there is no built-in data set.

The model: `--artifact DIR` (a saved `ml.training` classifier, e.g. a registry version's
`model` folder), or else a small one fine-tuned here from ML_BASE_MODEL's default (MiniLM) on
`--train-n` stratified training rows for `--epochs` (a minute or two on 2 CPU cores); its
accuracy on the scored texts is recorded so a broken model cannot pass unnoticed.

What is measured is the workers' batch-scoring path, `ml.serving.scoring.texts_score` (what
`ml.score_batch` and re-scoring runs call after loading the production version): "batched"
scores the first --n test texts in one call per --batch-sizes value; "single" calls it with
one text at a time for --single texts. Modes alternate for --repeats rounds, each keeping its
best, so they share the machine's state; the 1-minute load average is recorded (numbers
taken while other jobs share the CPU are noisy).
Writes bench/results/batch_scoring.json (or --out).
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import result_header, result_write  # noqa: E402 - needs ROOT on sys.path

DEFAULT_OUT = ROOT / "bench" / "results" / "batch_scoring.json"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ml.embeddings import default_base_model_dir  # noqa: E402
from ml.serving.scoring import texts_score  # noqa: E402
from ml.training import Example, TrainConfig, load_text_model, train_text_model  # noqa: E402


def read_rows(path: Path) -> list[Example]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields = reader.fieldnames or []
        label = "label" if "label" in fields else "category" if "category" in fields else None
        if "text" not in fields or label is None:
            raise SystemExit(f"{path}: needs a header with `text` and `label` or `category`")
        return [
            Example(text=row["text"], label=row[label])
            for row in reader
            if row["text"].strip() and row[label].strip()
        ]


def load_data(folder: Path) -> tuple[list[Example], list[Example], str]:
    """(train rows, test rows, description) from train.csv + test.csv or one CSV split here."""
    if (folder / "train.csv").is_file() and (folder / "test.csv").is_file():
        return read_rows(folder / "train.csv"), read_rows(folder / "test.csv"), "train/test"
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise SystemExit(f"--data {folder}: no CSV file there")
    rows = read_rows(files[0])
    random.Random(0).shuffle(rows)
    cut = int(len(rows) * 0.8)
    return rows[:cut], rows[cut:], f"{files[0].name} split 80/20"


def stratified(rows: list[Example], n: int, seed: int = 0) -> list[Example]:
    """About n rows with every label present (round-robin over shuffled labels)."""
    by_label: dict[str, list[Example]] = {}
    for row in rows:
        by_label.setdefault(row.label, []).append(row)
    rng = random.Random(seed)
    for group in by_label.values():
        rng.shuffle(group)
    picked: list[Example] = []
    depth = 0
    while len(picked) < n and any(len(g) > depth for g in by_label.values()):
        picked += [g[depth] for g in by_label.values() if len(g) > depth][: n - len(picked)]
        depth += 1
    return picked


def fine_tune(train: list[Example], args: argparse.Namespace, out: Path) -> tuple[Path, dict]:
    base = default_base_model_dir()
    params = {
        "epochs": args.epochs,
        "batch_size": 16,
        "max_seq_length": 64,
        "validation_fraction": 0.1,
        "early_stopping_patience": 0,
        "device": args.device,
    }
    started = time.perf_counter()
    result = train_text_model(TrainConfig.from_dict(base, params), train, out / "model")
    info = {
        "base_model": base.name,
        "train_rows": len(train),
        "labels": len({e.label for e in train}),
        "hyperparameters": params,
        "train_seconds": round(time.perf_counter() - started, 1),
        "validation_accuracy": result.metrics.get("accuracy"),
    }
    return result.artifact_dir, info


def measure(model: Any, texts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    sizes = [int(s) for s in args.batch_sizes.split(",")]
    single = texts[: args.single]
    best: dict[str, float] = {}
    texts_score(model, texts[:8], batch_size=8)  # warm-up: first-call allocations
    for _ in range(args.repeats):
        for size in sizes:
            started = time.perf_counter()
            texts_score(model, texts, batch_size=size)
            seconds = time.perf_counter() - started
            best[f"batched_{size}"] = min(best.get(f"batched_{size}", seconds), seconds)
        started = time.perf_counter()
        for text in single:
            texts_score(model, [text], batch_size=1)
        seconds = time.perf_counter() - started
        best["single"] = min(best.get("single", seconds), seconds)
    rows = {}
    for mode, seconds in best.items():
        count = len(single) if mode == "single" else len(texts)
        rows[mode] = {
            "texts": count,
            "seconds": round(seconds, 3),
            "texts_per_s": round(count / seconds, 1),
        }
    for row in rows.values():
        row["speedup_vs_single"] = round(row["texts_per_s"] / rows["single"]["texts_per_s"], 2)
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--artifact", type=Path)
    parser.add_argument("--train-n", type=int, default=400)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--single", type=int, default=64)
    parser.add_argument("--batch-sizes", default="16,64,128")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    if args.data is None or not args.data.is_dir():
        print(
            f"SKIP: bench/batch_scoring.py needs --data DIR with a text,label (or text,category) "
            f"CSV; got {args.data}. E.g. --data /work/shared/datasets/banking77"
        )
        return 0
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    train, test, layout = load_data(args.data)
    texts_rows = test[: args.n]
    with tempfile.TemporaryDirectory() as scratch:
        if args.artifact is not None:
            artifact, model_info = args.artifact, {"artifact": str(args.artifact)}
        else:
            artifact, model_info = fine_tune(stratified(train, args.train_n), args, Path(scratch))
        model = load_text_model(artifact, device=args.device)
        texts = [row.text for row in texts_rows]
        rows = measure(model, texts, args)
        scores = texts_score(model, texts, batch_size=64)
    accuracy = sum(s.label == r.label for s, r in zip(scores, texts_rows, strict=True)) / len(
        texts_rows
    )
    result = {
        **result_header("bench/batch_scoring.py", device=args.device),
        "command": " ".join(sys.argv),
        "load_avg_1m": round(os.getloadavg()[0], 2),
        "data": {"dir": str(args.data), "layout": layout, "scored_texts": len(texts)},
        "model": {**model_info, "accuracy_on_scored_texts": round(accuracy, 4)},
        "path": "ml.serving.scoring.texts_score (ml.score_batch / re-scoring runs)",
        "throughput": rows,
    }
    print(f"{'mode':<14}{'texts':>7}{'seconds':>10}{'texts/s':>10}{'x single':>10}")
    for mode, row in rows.items():
        print(
            f"{mode:<14}{row['texts']:>7}{row['seconds']:>10}{row['texts_per_s']:>10}"
            f"{row['speedup_vs_single']:>10}"
        )
    load = result["load_avg_1m"]
    print(f"accuracy on the scored texts: {accuracy:.3f} (1-minute load average {load})")
    result_write(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

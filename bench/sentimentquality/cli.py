"""Command line of the sentiment quality benchmark (`python bench/sentiment_quality.py`)."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import result_header, result_write
from bench.sentimentquality.data import Splits, load_splits
from bench.sentimentquality.report import table
from bench.sentimentquality.runs import run_technique
from bench.sentimentquality.techniques import DEFAULT_OUT, TARGETS, TECHNIQUES


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Sentiment fine-tuning techniques compared.")
    parser.add_argument(
        "--data",
        type=Path,
        required=True,
        help="Financial PhraseBank folder (Sentences_50Agree.txt ...) or one with train.csv "
        "and test.csv (text,label)",
    )
    parser.add_argument(
        "--techniques",
        default=",".join(TECHNIQUES),
        help=f"comma-separated subset of: {', '.join(TECHNIQUES)}",
    )
    parser.add_argument("--model", type=Path, default=None, help="base model dir (MiniLM)")
    parser.add_argument("--device", default="auto", help="auto/cpu/cuda")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--seed", type=int, default=42, help="split seed and first model seed")
    parser.add_argument(
        "--model-cache",
        type=Path,
        default=None,
        help="keep trained models here and reuse them across runs (same data, seed, settings)",
    )
    parser.add_argument(
        "--max-train",
        type=int,
        default=None,
        help="train on a stratified subset of this many training sentences (validation and "
        "test stay whole); for a CPU too busy to fine-tune on all of them",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.techniques.split(",") if n.strip()]
    unknown = [n for n in names if n not in TECHNIQUES]
    if unknown or not names:
        parser.error(f"unknown technique(s) {unknown}; choose from {', '.join(TECHNIQUES)}")
    args.technique_names = names
    return args


def _load_average(start: tuple[float, float, float]) -> dict[str, Any]:
    now = os.getloadavg()
    return {
        "start_1m": round(start[0], 2),
        "end_1m": round(now[0], 2),
        "end_15m": round(now[2], 2),
        "cpus": os.cpu_count(),
    }


def served_variants(rows: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every way a row can be served: "name" (fp32) and "name+int8" where it was measured."""
    variants = {}
    for name, row in rows.items():
        variants[name] = row
        if "int8" in row:
            variants[f"{name}+int8"] = {**row, **row["int8"]}
    return variants


def served_choice(rows: dict[str, dict[str, Any]]) -> str | None:
    """The variant a deployment would pick without looking at test: best validation macro-F1
    among those fast enough in bulk (all variants when none is)."""
    variants = served_variants(rows)
    fast = {
        n: r
        for n, r in variants.items()
        if r["headlines_per_s"]["bulk"] >= TARGETS["headlines_per_s"]
    }
    pool = fast or variants
    if not pool:
        return None
    return max(pool, key=lambda n: pool[n]["validation"]["macro_f1"])


def build_result(
    args: argparse.Namespace,
    splits: Splits,
    device: str,
    rows: dict[str, dict[str, Any]],
    load_start: tuple[float, float, float],
    started: float,
) -> dict[str, Any]:
    import torch

    result: dict[str, Any] = {
        **result_header("sentiment_quality", device=device),
        "dataset": splits.source,
        "threads": torch.get_num_threads(),
        "seed": args.seed,
        "max_train": args.max_train,
        "split": splits.summary(),
        "complete": list(rows) == args.technique_names,
        "techniques_requested": args.technique_names,
        "targets": TARGETS,
        "techniques": rows,
        "wall_seconds": time.monotonic() - started,
        "load_average": _load_average(load_start),
    }
    served = served_choice(rows)
    result["served_technique"] = served
    if served is not None:
        row = served_variants(rows)[served]
        result.update(
            accuracy=row["test"]["accuracy"],
            macro_f1=row["test"]["macro_f1"],
            allagree_accuracy=row["allagree_test"]["accuracy"],
            allagree_macro_f1=row["allagree_test"]["macro_f1"],
            train_seconds=row["train_seconds"],
            headlines_per_s=row["headlines_per_s"],
            served_hyperparameters=row["hyperparameters"],
        )
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    splits = load_splits(args.data, args.seed, max_train=args.max_train)
    if splits is None:
        print(
            f"sentiment_quality: skipped, {args.data} has neither Sentences_50Agree.txt "
            "(Financial PhraseBank) nor train.csv + test.csv (columns text,label)"
        )
        return 0
    import torch

    from ml.device import resolve_device
    from ml.embeddings import default_base_model_dir

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    started, load_start = time.monotonic(), os.getloadavg()
    base_model = args.model or default_base_model_dir()
    device = resolve_device(args.device)
    print(
        f"data: train {len(splits.train)}, validation {len(splits.validation)}, test "
        f"{len(splits.test)} (all-agree {len(splits.allagree_test)})"
    )
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="sentiment_quality_") as tmp:
        work = args.model_cache or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for name in args.technique_names:
            technique = TECHNIQUES[name]
            print(f"== {name}: {technique.description}")
            row = run_technique(
                technique, splits, seed=args.seed, base_model=base_model, device=device, work=work
            )
            rows[name] = {
                "description": technique.description,
                "builds_on": technique.builds_on,
                **row,
            }
            # Written after every row, so a long run that is stopped keeps what it measured.
            result = build_result(args, splits, device, rows, load_start, started)
            result_write(args.out, result)
    print(table(result))
    print(f"wrote {args.out}")
    return 0

"""Command line of the chat quality benchmark (`python bench/chat_quality.py`)."""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from bench.chatquality import __doc__ as package_doc
from bench.chatquality.config import DEFAULT_OUT, LABELLED_OOS_OUT, SWEEP_OUT
from bench.chatquality.oos import run_labelled_oos
from bench.chatquality.report import labelled_oos_table, table
from bench.chatquality.runs import run_benchmark, run_sweep
from bench.common import missing_splits, result_write


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=package_doc.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="dir with train.csv, test.csv")
    parser.add_argument("--epochs", type=int, default=None, help="override the chosen epochs")
    parser.add_argument("--max-train", type=int, default=None, help="stratified train subset")
    parser.add_argument("--max-test", type=int, default=None, help="stratified test subset")
    parser.add_argument("--model", type=Path, default=None, help="base model dir (MiniLM)")
    parser.add_argument("--device", default="auto", help="auto/cpu/cuda")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--val-fraction", type=float, default=0.1)
    parser.add_argument("--oos-intents", type=int, default=10, help="held-out intents")
    parser.add_argument(
        "--model-cache",
        type=Path,
        default=None,
        help="keep trained models here and reuse them (development only)",
    )
    parser.add_argument(
        "--int8",
        action="store_true",
        help="base encoder with int8 weights, as ML_ENCODER_INT8=1 serves it (CPU only)",
    )
    parser.add_argument(
        "--mixed-precision",
        action="store_true",
        help="fine-tune under bf16 autocast on CUDA instead of fp32 (no effect on the CPU)",
    )
    parser.add_argument("--sweep", action="store_true", help="hyper-parameter sweep instead")
    parser.add_argument(
        "--labelled-oos",
        type=int,
        default=0,
        metavar="M",
        help="instead: M more intents become marked out-of-scope examples; compare classifiers "
        "trained without and with them",
    )
    parser.add_argument("--out", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = missing_splits(args.data)
    if missing:
        print(
            f"chat_quality: skipped, {args.data} has no {' / '.join(missing)} "
            "(expects train.csv and test.csv with columns text,category)"
        )
        return 0
    import torch

    from ml.device import resolve_device
    from ml.embeddings import default_base_model_dir

    if args.threads > 0:
        torch.set_num_threads(args.threads)
    started = time.monotonic()
    load_start = os.getloadavg()
    base_model = args.model or default_base_model_dir()
    device = resolve_device(args.device)
    with tempfile.TemporaryDirectory(prefix="chat_quality_") as tmp:
        work = args.model_cache or Path(tmp)
        if args.sweep:
            result = run_sweep(args, base_model, device, work)
            out = args.out or SWEEP_OUT
        elif args.labelled_oos > 0:
            result = run_labelled_oos(args, base_model, device, work)
            out = args.out or LABELLED_OOS_OUT
        else:
            result = run_benchmark(args, base_model, device, work)
            out = args.out or DEFAULT_OUT
    result["wall_seconds"] = time.monotonic() - started
    result["load_average"] = {
        "start_1m": round(load_start[0], 2),
        "end_1m": round(os.getloadavg()[0], 2),
        "end_15m": round(os.getloadavg()[2], 2),
        "cpus": os.cpu_count(),
    }
    result_write(out, result)
    if args.labelled_oos > 0:
        print(labelled_oos_table(result))
    elif not args.sweep:
        print(table(result))
    print(f"wrote {out}")
    return 0

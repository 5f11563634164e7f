"""Offline recommendation quality: baselines and the full next-item model, same split, same run.

Usage:
    .venv/bin/python bench/rec_quality.py --data DIR [--epochs 40] [--device auto]
                                          [--only popularity,ease,...] [--out PATH]
                                          [--model-cache DIR]

--data DIR: MovieLens (`ratings.csv`, `movies.csv`, `tags.csv`; item text = title + genres +
user tags) or a generic pair `items.csv` (`item_id,title,text`) + `events.csv`
(`user_id,item_id,timestamp[,type]`). Without it the script says so and exits.

Protocol: leave-last-out per user by time; the full catalogue is ranked for each user with
the items they already have removed; NDCG@10 and Recall@10 (ml.training.metrics). The
`cold_start` slice is the users whose held-out item never occurs in training. Baselines fit on
everything but the held-out items; `full` (ml.recsys.training.train_next_item without the
final refit) chooses its epoch and blend on each user's second-to-last item and is trained on
what precedes it; items with no (or few) training events also get a text-similarity term
gated by their event count (ml.recsys.blend). --model-cache DIR reuses a network trained
with the same data and settings (the JSON says "fit_cache": "hit"); a reported figure comes
from a run without it. Item text vectors come from ML_BASE_MODEL's encoder, cached under
var/rec_quality/. Writes bench/results/rec_quality.json (or --out).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import result_header, result_write  # noqa: E402 - needs ROOT on sys.path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

DEFAULT_OUT = ROOT / "bench" / "results" / "rec_quality.json"
CACHE_DIR = ROOT / "var" / "rec_quality"
BASELINES = ("popularity", "itemknn", "mf", "ease", "text")
COLD_MODELS = ("popularity", "text", "full")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="MovieLens or items.csv + events.csv folder")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--epochs", type=int, default=None, help="max epochs of the full model")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--only", default="", help="comma-separated subset of models to run")
    parser.add_argument("--set", action="append", default=[], help="full model key=value")
    parser.add_argument(
        "--model-cache",
        type=Path,
        default=None,
        help="folder keeping the full model's trained network, keyed on data + settings, so "
        "blend/scoring changes are measured without training again (iteration only)",
    )
    args = parser.parse_args(argv)

    from bench.recquality.data import data_kind

    if args.data is None or not args.data.is_dir() or data_kind(args.data) is None:
        print(
            f"rec_quality: no data set at {args.data}: pass --data with MovieLens "
            "(ratings.csv, movies.csv[, tags.csv]) or items.csv + events.csv; nothing measured."
        )
        return 0
    from bench.recquality.runs import run_all

    result: dict[str, Any] = result_header("bench/rec_quality.py", device=args.device)
    started = time.monotonic()
    result.update(run_all(args))
    result["seconds"] = round(time.monotonic() - started, 1)
    result_write(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

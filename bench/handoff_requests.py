"""Typed requests for a person: choose CHAT_HANDOFF_REQUEST_SIMILARITY.

Usage:
    .venv/bin/python bench/handoff_requests.py [--data DIR] [--positives FILE]
        [--max-false-rate 0.001] [--model DIR] [--out bench/results/handoff_requests.json]

Negatives: every `text` of DIR/train.csv and DIR/test.csv (columns `text,category`, Banking77's
format): real customer questions, none of which asks for a person, so each one that crosses the
threshold would wrongly be queued for an agent instead of answered. Positives: FILE (default
bench/data/handoff_requests.txt, one request per line, written unlike the service's phrasings
in apps/chat/handoff_requests.py, so this measures generalisation, not lookup). Both are scored
as the service scores them: the max cosine, in the base encoder's space, to the request
phrasings. The chosen threshold is the lowest (on a 0.01 grid) whose false rate on the negatives
is at most `--max-false-rate`; the script reports recall of the positives there, a sweep table,
and the negatives closest to asking for a person. Without DIR/train.csv it says so and exits 0.
Writes bench/results/handoff_requests.json.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from apps.chat.handoff_requests import DEFAULT_PHRASES  # noqa: E402 - needs ROOT on sys.path
from bench.common import (  # noqa: E402
    BANKING77_DIR,
    RESULTS_DIR,
    read_texts,
    result_header,
    result_write,
)

DEFAULT_DATA = BANKING77_DIR
DEFAULT_POSITIVES = ROOT / "bench" / "data" / "handoff_requests.txt"
DEFAULT_OUT = RESULTS_DIR / "handoff_requests.json"


def read_lines(path: Path) -> list[str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def max_similarity(vectors: np.ndarray, phrases: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sims = vectors @ phrases.T
    return sims.max(axis=1), sims.argmax(axis=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--positives", type=Path, default=DEFAULT_POSITIVES)
    parser.add_argument("--max-false-rate", type=float, default=0.001)
    parser.add_argument("--model", type=Path, default=None, help="base encoder dir")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not (args.data / "train.csv").is_file():
        print(f"skipped: {args.data / 'train.csv'} not found (pass --data DIR with train.csv)")
        return 0

    from ml.embeddings import Encoder, EncoderConfig, default_base_model_dir

    negatives = read_texts(args.data / "train.csv")
    if (args.data / "test.csv").is_file():
        negatives += read_texts(args.data / "test.csv")
    positives = read_lines(args.positives)
    held_in = sorted(set(positives) & {p for p in DEFAULT_PHRASES})
    if held_in:
        raise SystemExit(f"positives repeat the service's phrasings: {held_in}")
    model_dir = args.model or default_base_model_dir()
    encoder = Encoder(EncoderConfig(model_dir=model_dir))
    started = time.perf_counter()
    phrase_vectors = encoder.encode(list(DEFAULT_PHRASES))
    pos, _ = max_similarity(encoder.encode(positives), phrase_vectors)
    neg, neg_phrase = max_similarity(encoder.encode(negatives, show_progress=True), phrase_vectors)
    seconds = time.perf_counter() - started

    grid = np.round(np.arange(0.50, 0.951, 0.01), 2)
    sweep = [
        {
            "threshold": float(t),
            "recall": float((pos >= t).mean()),
            "false_rate": float((neg >= t).mean()),
            "false_count": int((neg >= t).sum()),
        }
        for t in grid
    ]
    ok = [row for row in sweep if row["false_rate"] <= args.max_false_rate]
    chosen = ok[0] if ok else sweep[-1]
    closest = np.argsort(-neg)[:15]
    result = {
        **result_header("handoff_requests", device=encoder.device),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data_dir": str(args.data),
        "positives_file": str(args.positives),
        "model": str(model_dir),
        "n_phrases": len(DEFAULT_PHRASES),
        "n_positives": len(positives),
        "n_negatives": len(negatives),
        "max_false_rate": args.max_false_rate,
        "chosen_threshold": chosen["threshold"],
        "recall_at_chosen": chosen["recall"],
        "false_rate_at_chosen": chosen["false_rate"],
        "positives_missed_at_chosen": [
            p for p, s in zip(positives, pos, strict=True) if s < chosen["threshold"]
        ],
        "closest_negatives": [
            {
                "text": negatives[i],
                "similarity": round(float(neg[i]), 4),
                "phrase": DEFAULT_PHRASES[int(neg_phrase[i])],
            }
            for i in closest
        ],
        "sweep": sweep,
        "encode_seconds": round(seconds, 1),
    }
    print(f"{'threshold':>9} {'recall':>7} {'false rate':>10} {'false n':>7}")
    for row in sweep[::2]:
        mark = " <- chosen" if row["threshold"] == chosen["threshold"] else ""
        print(
            f"{row['threshold']:>9.2f} {row['recall']:>7.3f} {row['false_rate']:>10.4f} "
            f"{row['false_count']:>7}{mark}"
        )
    print(
        f"chosen {chosen['threshold']:.2f}: recall {chosen['recall']:.3f} on {len(positives)} "
        f"requests, false rate {chosen['false_rate']:.4f} on {len(negatives)} questions"
    )
    print("closest questions:")
    for row in result["closest_negatives"][:8]:
        print(f"  {row['similarity']:.3f}  {row['text']}")
    result_write(args.out, result)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

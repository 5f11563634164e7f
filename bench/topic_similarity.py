"""Topics matched by meaning: choose SENTIMENT_TOPIC_SIMILARITY_THRESHOLD.

Usage:
    .venv/bin/python bench/topic_similarity.py [--data DIR] [--model DIR]
        [--out bench/results/topic_similarity.json]

Reads DIR/topic_similarity.json (default bench/data/): topic descriptions and articles, each
listing the topics it is about (written by the project; every other pair is a negative, many
of them same-sector or same-word traps). Each (topic, article) pair is scored as the monitor
scores it: the cosine, in the base encoder's space, of the article's title + body
(apps/sentiment/understanding/texts.py) to the description. Prints precision / recall / F1 per
threshold (0.20 to 0.60, step 0.02), chooses the threshold with the best F1 (ties: the higher,
fewer false alerts), lists the misses and false matches there, and writes
bench/results/topic_similarity.json. Without the data file it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from apps.sentiment.understanding.texts import article_text  # noqa: E402
from bench.common import RESULTS_DIR, result_header, result_write  # noqa: E402

DEFAULT_DATA = ROOT / "bench" / "data"
DATA_FILE = "topic_similarity.json"
DEFAULT_OUT = RESULTS_DIR / "topic_similarity.json"
THRESHOLDS = [round(0.20 + 0.02 * i, 2) for i in range(21)]


def sweep(similarity: np.ndarray, truth: np.ndarray) -> list[dict[str, float]]:
    rows = []
    for threshold in THRESHOLDS:
        predicted = similarity >= threshold
        tp = int((predicted & truth).sum())
        fp = int((predicted & ~truth).sum())
        fn = int((~predicted & truth).sum())
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        rows.append(
            {
                "threshold": threshold,
                "precision": round(precision, 3),
                "recall": round(recall, 3),
                "f1": round(f1, 3),
                "false_matches": fp,
                "misses": fn,
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", type=Path, default=None, help="base encoder dir")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    path = args.data / DATA_FILE
    if not path.is_file():
        print(f"skipped: {path} not found (topics and labelled articles; see the docstring)")
        return 0
    data = json.loads(path.read_text(encoding="utf-8"))
    topics: dict[str, str] = data["topics"]
    articles = data["articles"]

    from ml.embeddings import Encoder, EncoderConfig, default_base_model_dir

    model_dir = args.model or default_base_model_dir()
    encoder = Encoder(EncoderConfig(model_dir=model_dir))
    started = time.perf_counter()
    topic_vectors = encoder.encode(list(topics.values()))
    article_vectors = encoder.encode(
        [article_text(a["title"], a.get("body", "")) for a in articles]
    )
    seconds = time.perf_counter() - started
    similarity = article_vectors @ topic_vectors.T  # (articles, topics), unit vectors: cosine
    names = list(topics)
    truth = np.array([[name in a["about"] for name in names] for a in articles], dtype=bool)

    rows = sweep(similarity, truth)
    best = max(rows, key=lambda row: (row["f1"], row["threshold"]))
    chosen = best["threshold"]
    print(
        f"{len(names)} topics x {len(articles)} articles = {truth.size} pairs, "
        f"{int(truth.sum())} about the topic"
    )
    print(f"{'threshold':>9} {'precision':>9} {'recall':>7} {'f1':>6} {'false':>6} {'missed':>6}")
    for row in rows:
        mark = "  <- chosen" if row["threshold"] == chosen else ""
        print(
            f"{row['threshold']:>9.2f} {row['precision']:>9.3f} {row['recall']:>7.3f} "
            f"{row['f1']:>6.3f} {row['false_matches']:>6} {row['misses']:>6}{mark}"
        )
    errors = []
    for i, article in enumerate(articles):
        for j, name in enumerate(names):
            hit = similarity[i, j] >= chosen
            if hit != truth[i, j]:
                kind = "false match" if hit else "miss"
                errors.append(
                    {
                        "kind": kind,
                        "topic": name,
                        "title": article["title"],
                        "similarity": round(float(similarity[i, j]), 3),
                    }
                )
    for error in sorted(errors, key=lambda e: (e["kind"], -e["similarity"])):
        print(
            f"  {error['kind']:<11} {error['similarity']:.3f} [{error['topic']}] {error['title']}"
        )
    positives, negatives = similarity[truth], similarity[~truth]
    result = {
        **result_header("topic_similarity", device=encoder.device),
        "data": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        "model": Path(model_dir).name,
        "topics": len(names),
        "articles": len(articles),
        "pairs": int(truth.size),
        "positive_pairs": int(truth.sum()),
        "chosen_threshold": chosen,
        "at_chosen": best,
        "similarity_about": {
            "min": round(float(positives.min()), 3),
            "median": round(float(np.median(positives)), 3),
        },
        "similarity_not_about": {
            "max": round(float(negatives.max()), 3),
            "p99": round(float(np.quantile(negatives, 0.99)), 3),
            "median": round(float(np.median(negatives)), 3),
        },
        "sweep": rows,
        "errors_at_chosen": errors,
        "encode_seconds": round(seconds, 2),
    }
    result_write(args.out, result)
    print(
        f"chosen threshold {chosen}: precision {best['precision']}, recall {best['recall']}; "
        f"wrote {args.out}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

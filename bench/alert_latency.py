"""End to end: from an article's arrival at the push API to its alert email accepted by SMTP.

Usage:
    .venv/bin/python bench/alert_latency.py --data DIR [--articles 1000] [--topics 10]
        [--batch 100] [--negative-share 0.8] [--train-n 600] [--epochs 1] [--concurrency 2]
        [--timeout-s 600] [--split-queues] [--keep-db] [--model-cache DIR]
        [--out bench/results/alert_latency.json]

DIR is the Financial PhraseBank folder (`Sentences_50Agree.txt`, `sentence@label`, latin-1) or
any folder with a `train.csv` (`text,label`: positive / neutral / negative). Without it, or
without PostgreSQL and Redis (DATABASE_URL=postgres://..., REDIS_URL), the script says so and
exits 0.

What runs, all for real: a scratch PostgreSQL database (`<DATABASE_URL's name>_alert_latency`,
dropped afterwards unless --keep-db); the mailbox SMTP server (apps/sentiment/mailbox.py,
aiosmtpd, in this process) as EMAIL_URL; a `sentiment.headline` model fine-tuned here through
the registry (--train-n stratified PhraseBank sentences, --epochs) and promoted; one Celery
worker on both queues (`default,gpu`, --concurrency processes; --split-queues: one per queue)
and celery beat; the push API through Django's test client in this process, with an
IngestClient key. The 1-minute load average is recorded: other jobs on the machine slow the
workers and show in the latency.

Scenario: --topics companies (aliases only), one alert rule over every topic (15 min window,
at least 10 articles, negative share 0.5, surge factor 2, 60 min cooldown) and one subscriber.
The workers are warmed (a few unrelated articles scored) before the clock starts. Then the
burst: --articles headlines, "<company>: <PhraseBank sentence>", spread evenly over the
companies, --negative-share of them from negative sentences (the rest neutral), shuffled and
pushed in requests of --batch rows back to back; each article's arrival is the moment its
request was sent, its publication time that moment too.

Latency of an article = when the SMTP server accepted its topic's alert email (the handler
records it after the message is on disk) minus the article's arrival. Counted: every article
that arrived before its topic's alert fired (later ones arrive during the cooldown: no email is
due for them, they are reported as `after_alert`). Articles of a topic whose email never came
within --timeout-s are `missed`; any miss makes p99 undefined (reported as null).
Also per alert: the first article's arrival, when the alert fired and when its email was
accepted. Writes bench/results/alert_latency.json.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# noqa: E402 below - these need ROOT on sys.path
from bench.alertlatency.data import COMPANIES, read_sentences  # noqa: E402
from bench.alertlatency.report import print_table, say  # noqa: E402
from bench.alertlatency.runs import run  # noqa: E402
from bench.common import result_header, result_write  # noqa: E402

DEFAULT_OUT = ROOT / "bench" / "results" / "alert_latency.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--topics", type=int, default=10, choices=range(1, len(COMPANIES) + 1))
    parser.add_argument("--batch", type=int, default=100, help="rows per API request")
    parser.add_argument("--negative-share", type=float, default=0.8)
    parser.add_argument("--train-n", type=int, default=600)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes")
    parser.add_argument("--timeout-s", type=float, default=600)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument(
        "--split-queues",
        action="store_true",
        help="a worker per queue (gpu: --concurrency, default: 1) instead of one on both",
    )
    parser.add_argument("--keep-db", action="store_true")
    parser.add_argument(
        "--model-cache",
        type=Path,
        default=ROOT / "var" / "bench" / "alert_latency" / "models",
        help="where fine-tuned models are kept between runs",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    pairs = read_sentences(args.data)
    if not pairs:
        say(f"{args.data}: no Sentences_50Agree.txt or train.csv (text,label); nothing measured")
        return 0
    if not os.environ.get("DATABASE_URL", "").startswith("postgres") or not os.environ.get(
        "REDIS_URL"
    ):
        say("needs DATABASE_URL=postgres://... and REDIS_URL (a real worker and broker)")
        return 0
    with tempfile.TemporaryDirectory(prefix="alert-latency-") as tmp:
        result = run(args, pairs, Path(tmp))
    print_table(result)
    params = {
        k: v for k, v in vars(args).items() if k not in {"data", "out", "keep_db", "model_cache"}
    }
    result_write(
        args.out,
        {**result_header("bench/alert_latency.py"), "params": params, "results": result},
    )
    say(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

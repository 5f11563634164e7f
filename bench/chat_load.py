"""Support-chat load test: real Daphne servers, real websocket clients, open-loop arrivals.

Usage:
    .venv/bin/python bench/chat_load.py [--data DIR] [--phrasings 100000] [--clients 200]
        [--rates 25,50,100,150,200,300] [--seconds 20] [--modes on,off] [--budget-ms 150]
        [--asgi-threads N] [--torch-threads N] [--db-conn-max-age S] [--batch-max-size N]
        [--batch-max-wait-ms MS] [--encoder-int8 auto|1|0]
        [--encoder-runtime auto|torch|onnx]
        [--database-url URL | --sqlite-wal --sqlite-dir DIR]
        [--server-processes N] [--redis-url URL] [--cache-dir var/bench/chat_load] [--setup-only]
        [--profile] [--cprofile]
        [--out bench/results/chat_load.json]

DIR holds `train.csv` with columns `text,category` (Banking77's format) and optionally
`test.csv` (same columns); without train.csv the benchmark prints why and exits 0.

Knowledge base: one entry per category (title = the category in words, a canned answer),
whose phrasings are the entry title plus the train texts. When that is fewer than
`--phrasings`, deterministic variants are added round by round until there are exactly that
many: round r (r = 1, 2, ...) wraps every train text in the r-th (prefix, suffix) pair of
PHRASE_PREFIXES x PHRASE_SUFFIXES ("Hi, <text> Thanks."), in data order; past the 79 pairs a
" (n)" counter is appended. Questions are the test.csv texts (or, without test.csv, a seeded
10% of train rows held out of the knowledge base), drawn at random with `--seed`.

Setup (cached): a SQLite database (a fresh file in a temp dir under `--sqlite-dir`; or
`--database-url`, which must be empty or already hold exactly this knowledge base) is migrated
and filled with explicit row ids, and the FAISS index of every phrasing is built with the
shared encoder (fp32; HNSW past CHAT_INDEX_APPROXIMATE_THRESHOLD). Database and index are kept
under `--cache-dir/<fingerprint>/`, keyed by the knowledge-base rows and the encoder, so reruns
skip the encoding (100k phrasings: about 17 minutes on 2 busy cores); every run works on a
copy of the cached database and reads the cached index in place.

Run: one `daphne config.asgi:application` per batching mode (ML_BATCHING=1 / 0), both started
at once and used alternately, rate by rate (the mode that goes first alternates too), so slow
drift of the machine's load hits both alike. Rate limits are lifted through their env vars,
logging is at WARNING, REDIS_URL is dropped (embedded mode: in-memory channel layer, LocMem
cache) unless `--redis-url` is given; the other server knobs are the flags above (unset: the
project's defaults). Each server is warmed up (encoder and index loaded, a few answers), then
`--clients` websockets each open their own conversation. For every rate in `--rates` messages
are sent open-loop for `--seconds`: Poisson arrivals at the total rate, each on a random
connection, whether or not earlier replies came back. Round trip = from writing the `message`
frame to receiving the bot's `message` frame answering it (replies come in order per
conversation, so the oldest unanswered message is the one answered; a question the bot reads
as a request for a person is answered by a `system` message, and that conversation, now
waiting for an agent, gets no further messages: `conversations_handed_off` counts them).
Messages unanswered `--drain-s` after the window are timeouts. A mode stops stepping up once
its p99 passes `--stop-p99-ms` or more than 1% of its messages fail.

Reported per mode and rate: p50/p90/p99 round trip (answered messages), achieved msgs_per_s
(bot replies received during the sending window / its length), errors, timeouts, how late the
sender was against the Poisson schedule, CPU cores used by the server, by the client and by
everything else on the machine, the server's encoder batches (count, mean size, busy share;
from /metrics) and `answer_question` time (the bot messages' evidence.latency_ms, read back
from the database). `capacity_msgs_per_s` of a mode is the highest rate that, like every lower
rate, kept p99 under `--budget-ms` with no errors or timeouts. The intent classifier is not
used: no `chat.intent` model is promoted in the bench database, so answers are retrieval only,
as on a fresh install. `--profile` runs the servers under bench/chatload/sampler.py (every
Python thread's stack every 10 ms) and records per thread kind (event loop, thread pool,
batcher) the CPU it used and where its wall time went; `--cprofile` adds cProfile in every
server thread (top functions by own time per thread kind; it slows the server, so use it for
shares only).

The websocket client (autobahn on asyncio) runs in a child process of this script, without
Django, on the same CPUs as the servers (nothing is pinned: on 2 cores, pinning would take a
whole core from the server); its CPU share is reported so the distortion is visible.
Writes bench/results/chat_load.json.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.chatload.cli import main  # noqa: E402 - needs ROOT on sys.path

if __name__ == "__main__":
    raise SystemExit(main())

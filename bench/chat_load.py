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
as on a fresh install. `--profile` runs the servers with a sampler (every Python thread's
stack every 10 ms) and records per thread kind (event loop, thread pool, batcher) the CPU it
used and where its wall time went; `--cprofile` adds cProfile in every server thread (top
functions by own time per thread kind; it slows the server, so use it for shares only).

The websocket client (autobahn on asyncio) runs in a child process of this script, without
Django, on the same CPUs as the servers (nothing is pinned: on 2 cores, pinning would take a
whole core from the server); its CPU share is reported so the distortion is visible.
Writes bench/results/chat_load.json.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter, defaultdict, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "banking77"
DEFAULT_OUT = ROOT / "bench" / "results" / "chat_load.json"
DEFAULT_CACHE = ROOT / "var" / "bench" / "chat_load"
KB_FORMAT = 1  # bump when the knowledge-base construction changes (invalidates caches)
TARGETS = {"capacity_with_batching_msgs_per_s": 150.0, "batching_speedup": 2.0}
HOLDOUT_FRACTION = 0.1
# --sqlite-wal: Django's suggestion for concurrent SQLite writers (commits stop fsyncing).
SQLITE_WAL_OPTIONS = {
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
    "transaction_mode": "IMMEDIATE",
}
UNLIMITED = "1000000000"  # rate limits during the run
PHRASE_PREFIXES = [
    "",
    "Hi, ",
    "Hello, ",
    "Hey there, ",
    "Quick question: ",
    "Excuse me, ",
    "Good morning, ",
    "Sorry to bother you, ",
    "Can you help? ",
    "Question: ",
]
PHRASE_SUFFIXES = [
    "",
    " Thanks.",
    " Thank you!",
    " Please help.",
    " Any ideas?",
    " Cheers.",
    " Thanks in advance.",
    " I need this sorted today.",
]
VARIANT_PAIRS = [(p, s) for s in PHRASE_SUFFIXES for p in PHRASE_PREFIXES][1:]  # 79, no ("", "")


# -- data and knowledge base ------------------------------------------------------------------


@dataclass(frozen=True)
class KnowledgeBase:
    entries: list[tuple[int, str, str, str]]  # (id, title, answer, intent)
    phrasings: list[tuple[int, int, str, str]]  # (id, entry id, text, source)
    questions: list[str]
    question_source: str

    def fingerprint(self, model: str) -> str:
        digest = hashlib.sha256(f"{KB_FORMAT}|{model}".encode())
        for row in self.entries:
            digest.update(repr(row).encode())
        for row in self.phrasings:
            digest.update(repr(row).encode())
        return digest.hexdigest()[:16]


def read_rows(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        if not {"text", "category"} <= set(reader.fieldnames or []):
            raise SystemExit(f"{path}: header {reader.fieldnames} needs 'text' and 'category'")
        rows = []
        for row in reader:
            text = " ".join((row["text"] or "").split())[:500]
            category = (row["category"] or "").strip()
            if text and category:
                rows.append((text, category))
    return rows


def _title(category: str) -> str:
    words = category.replace("_", " ").replace("-", " ").strip()
    return (words[:1].upper() + words[1:])[:300] or "Entry"


def _slug(category: str) -> str:
    from django.utils.text import slugify

    return (slugify(category.replace("_", "-")) or "entry")[:100]


def build_knowledge_base(data: Path, n_phrasings: int, seed: int) -> KnowledgeBase:
    """Entries, phrasings (exactly n_phrasings, explicit ids) and questions; deterministic."""
    train = read_rows(data / "train.csv")
    if not train:
        raise SystemExit(f"{data / 'train.csv'} has no rows")
    if (data / "test.csv").is_file():
        questions = [text for text, _ in read_rows(data / "test.csv")]
        source = "test.csv"
    else:
        order = list(range(len(train)))
        random.Random(seed).shuffle(order)
        held = set(order[: max(1, int(len(train) * HOLDOUT_FRACTION))])
        questions = [train[i][0] for i in sorted(held)]
        train = [row for i, row in enumerate(train) if i not in held]
        source = f"train.csv ({HOLDOUT_FRACTION:.0%} held out)"
    if not questions:
        raise SystemExit(f"{data}: no questions to ask")

    categories = list(dict.fromkeys(category for _, category in train))
    entries, entry_of, seen, slugs = [], {}, {}, set()
    for entry_id, category in enumerate(categories, start=1):
        slug = _slug(category)
        while slug in slugs:
            slug = f"{slug[:90]}-{entry_id}"
        slugs.add(slug)
        title = _title(category)
        answer = f"Here is how we handle {title.lower()}: see the help centre article on it."
        entries.append((entry_id, title, answer, slug))
        entry_of[category] = entry_id
        seen[entry_id] = set()

    phrasings: list[tuple[int, int, str, str]] = []

    def add(entry_id: int, text: str, source: str) -> bool:
        text = text[:500]
        if len(phrasings) >= n_phrasings or text in seen[entry_id]:
            return False
        seen[entry_id].add(text)
        phrasings.append((len(phrasings) + 1, entry_id, text, source))
        return True

    for entry_id, title, _, _ in entries:
        add(entry_id, title, "title")
    for text, category in train:
        add(entry_of[category], text, "import")
    round_no = 0
    while len(phrasings) < n_phrasings:
        prefix, suffix = VARIANT_PAIRS[round_no % len(VARIANT_PAIRS)]
        counter = (
            f" ({round_no // len(VARIANT_PAIRS) + 1})" if round_no >= len(VARIANT_PAIRS) else ""
        )
        added = sum(
            add(entry_of[category], f"{prefix}{text}{suffix}{counter}", "import")
            for text, category in train
        )
        if not added and round_no > 10 * len(VARIANT_PAIRS):
            raise SystemExit(f"cannot make {n_phrasings} distinct phrasings from {data}")
        round_no += 1
    return KnowledgeBase(entries, phrasings, questions, source)


# -- Django, database, index ------------------------------------------------------------------


def django_setup(database_url: str, artifacts: Path, var_dir: Path) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["ML_ARTIFACTS_DIR"] = str(artifacts)
    os.environ["TESSERA_VAR_DIR"] = str(var_dir)
    os.environ["ML_ENCODER_INT8"] = "0"  # the index is always built with the fp32 encoder
    os.environ.pop("REDIS_URL", None)
    os.environ.setdefault("SECRET_KEY", "bench-chat-load-" + uuid.uuid4().hex * 2)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def database_fill(kb: KnowledgeBase) -> str:
    """Migrate and insert the knowledge base; 'filled', 'reused' or SystemExit if foreign."""
    from django.core.management import call_command
    from django.core.management.color import no_style
    from django.db import connection, transaction

    from apps.chat.models import EntryPhrasing, KnowledgeEntry

    call_command("migrate", verbosity=0, interactive=False)
    n_entries, n_phrasings = KnowledgeEntry.objects.count(), EntryPhrasing.objects.count()
    if n_entries or n_phrasings:
        probe = [kb.phrasings[0], kb.phrasings[len(kb.phrasings) // 2], kb.phrasings[-1]]
        same = (n_entries, n_phrasings) == (len(kb.entries), len(kb.phrasings)) and all(
            EntryPhrasing.objects.filter(id=pid, entry_id=eid, text=text).exists()
            for pid, eid, text, _ in probe
        )
        if not same:
            raise SystemExit(
                f"--database-url holds {n_entries} knowledge entries / {n_phrasings} phrasings "
                "that are not this benchmark's; point it at an empty (throwaway) database"
            )
        return "reused"
    with transaction.atomic():
        KnowledgeEntry.objects.bulk_create(
            [
                KnowledgeEntry(id=eid, title=title, answer=answer, intent=intent)
                for eid, title, answer, intent in kb.entries
            ],
            batch_size=500,
        )
        EntryPhrasing.objects.bulk_create(
            [
                EntryPhrasing(id=pid, entry_id=eid, text=text, source=source)
                for pid, eid, text, source in kb.phrasings
            ],
            batch_size=2000,
        )
    # Explicit ids leave PostgreSQL sequences behind; later inserts must not collide.
    statements = connection.ops.sequence_reset_sql(no_style(), [KnowledgeEntry, EntryPhrasing])
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)
    return "filled"


def sqlite_journal_mode() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        mode = str(cursor.fetchone()[0])
    connection.close()
    return mode


def sqlite_commit_ms(folder: Path, commits: int = 20) -> float:
    """Time of one small committed write on this disk (SQLite's default journal fsyncs)."""
    import sqlite3

    path = folder / "commit-probe.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("CREATE TABLE probe (x TEXT)")
        started = time.perf_counter()
        for _ in range(commits):
            db.execute("BEGIN")
            db.execute("INSERT INTO probe VALUES ('x')")
            db.execute("COMMIT")
        return round((time.perf_counter() - started) / commits * 1000, 2)
    finally:
        db.close()
        path.unlink(missing_ok=True)


def index_build(total: int) -> float:
    """Encode every phrasing into ML_ARTIFACTS_DIR's chat index; returns seconds."""
    from tqdm import tqdm

    from apps.chat import services

    started = time.perf_counter()
    bar = tqdm(total=total, unit="phrasing", desc="encode knowledge base")

    def progress(fraction: float) -> None:
        bar.update(max(0, round(fraction * total) - bar.n))

    count = services.kb_index_rebuild(batch_size=1024, progress=progress)
    bar.close()
    if count != total:
        raise SystemExit(f"index holds {count} vectors, expected {total}")
    return time.perf_counter() - started


# -- servers ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


SAMPLER = r"""
import json, os, signal, sys, threading, time
from collections import Counter
OUT, ROOT = os.environ["BENCH_SAMPLER_OUT"], os.environ["BENCH_ROOT"]
counts, kinds, lock, state = Counter(), {}, threading.Lock(), {"samples": 0}
gc_stats = {"started": 0.0, "runs": [0, 0, 0], "ms": [0.0, 0.0, 0.0], "max_ms": 0.0}

def on_gc(phase, info):
    # A collection holds the GIL: every thread stops. Count them and their pauses.
    if phase == "start":
        gc_stats["started"] = time.perf_counter()
        return
    ms = (time.perf_counter() - gc_stats["started"]) * 1000
    gc_stats["runs"][info["generation"]] += 1
    gc_stats["ms"][info["generation"]] += ms
    gc_stats["max_ms"] = max(gc_stats["max_ms"], ms)

import gc
gc.callbacks.append(on_gc)

def kind_of(name):
    if name == "MainThread":
        return "main"
    if name.endswith("-worker"):
        return "batcher"
    return "pool" if name.startswith(("ThreadPoolExecutor", "asyncio_")) else "other"

def where(frame):
    code = frame.f_code
    leaf = f"{os.path.basename(code.co_filename)}:{code.co_name}"
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(ROOT) and "/.venv/" not in path:
            return f"{path[len(ROOT):]}:{frame.f_code.co_name} > {leaf}"
        frame = frame.f_back
    return leaf

def run():
    me = threading.get_ident()
    while True:
        time.sleep(0.01)
        threads = {t.ident: t for t in threading.enumerate()}
        frames = sys._current_frames()
        with lock:
            state["samples"] += 1
            for ident, frame in frames.items():
                thread = threads.get(ident)
                if ident == me or thread is None:
                    continue
                kind = kind_of(thread.name)
                kinds[thread.native_id] = kind
                counts[(kind, where(frame))] += 1

PROFILES = {}  # native thread id -> cProfile.Profile, with BENCH_CPROFILE=1
if os.environ.get("BENCH_CPROFILE"):
    import cProfile

    def start_profiling(*_):
        # threading calls this once in each new thread, before run(): swap in cProfile.
        profile = cProfile.Profile()
        PROFILES[threading.get_native_id()] = profile
        profile.enable()

    threading.setprofile(start_profiling)

def cprofile_top(n=20):
    # Per thread kind: the functions with the most own time (tottime), summed over threads.
    by_kind = {}
    for native_id, profile in list(PROFILES.items()):
        kind = kinds.get(native_id, "other")
        profile.snapshot_stats()  # reads the counters without stopping the profiler
        table = by_kind.setdefault(kind, {})
        for (path, line, name), (_, calls, tottime, _, _) in profile.stats.items():
            key = f"{os.path.basename(path)}:{line}:{name}"
            row = table.setdefault(key, [0, 0.0])
            row[0] += calls
            row[1] += tottime
        profile.clear()
    return {kind: sorted(([k, c, round(t, 4)] for k, (c, t) in table.items()),
                         key=lambda r: -r[2])[:n]
            for kind, table in by_kind.items()}

def dump(*_):
    with lock:
        data = {"samples": state["samples"], "interval_s": 0.01, "kinds": dict(kinds),
                "stacks": [[k, w, n] for (k, w), n in counts.most_common(400)]}
        counts.clear()
        state["samples"] = 0
        data["gc"] = {"runs": list(gc_stats["runs"]), "ms": [round(x, 1) for x in gc_stats["ms"]],
                      "max_ms": round(gc_stats["max_ms"], 1)}
        gc_stats.update(runs=[0, 0, 0], ms=[0.0, 0.0, 0.0], max_ms=0.0)
    if PROFILES:
        data["cprofile_tottime_s"] = cprofile_top()
    with open(OUT + ".tmp", "w") as fh:
        json.dump(data, fh)
    os.replace(OUT + ".tmp", OUT)

signal.signal(signal.SIGUSR1, dump)
threading.Thread(target=run, name="bench-sampler", daemon=True).start()
sys.argv = ["daphne"] + sys.argv[1:]
from daphne.cli import CommandLineInterface
if os.environ.get("BENCH_CPROFILE"):
    start_profiling()
CommandLineInterface.entrypoint()
"""


class Server:
    """`daphne config.asgi:application` processes, each on a free port, for one batching mode.

    With `processes` > 1 (`--server-processes`) the clients spread their websockets over the
    processes round-robin, as a load balancer in front of several Daphne processes would (the
    Channels deployment docs' layout); each process has its own GIL, encoder and batcher.
    The client process gets a `ref()` (ports, pids, paths) and reads CPU, /metrics and the
    sampler from there; only the main process starts and stops the servers.
    """

    def __init__(
        self,
        mode: str,
        env: dict[str, str],
        run_dir: Path,
        profile: bool,
        cprofile: bool,
        processes: int = 1,
    ):
        self.mode = mode
        self.cprofile = cprofile
        self.env = env
        self.ports = [free_port() for _ in range(processes)]
        self.log_path = run_dir / f"daphne-{mode}.log"
        # The sampler watches the first process only.
        self.profile_path = run_dir / f"profile-{mode}.json" if profile else None
        self.processes: list[subprocess.Popen] = []
        self.pids: list[int] = []

    @property
    def port(self) -> int:
        return self.ports[0]

    @property
    def pid(self) -> int:
        return self.pids[0] if self.pids else 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ref(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "ports": self.ports,
            "pids": self.pids,
            "log_path": str(self.log_path),
            "profile_path": str(self.profile_path) if self.profile_path else None,
        }

    @classmethod
    def from_ref(cls, ref: dict[str, Any]) -> Server:
        server = cls.__new__(cls)
        server.mode, server.ports, server.pids = ref["mode"], ref["ports"], ref["pids"]
        server.env, server.processes = {}, []
        server.log_path = Path(ref["log_path"])
        server.profile_path = Path(ref["profile_path"]) if ref["profile_path"] else None
        return server

    def start(self) -> None:
        for i, port in enumerate(self.ports):
            args = ["-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]
            env = dict(self.env)
            if self.profile_path is not None and i == 0:
                env["BENCH_SAMPLER_OUT"] = str(self.profile_path)
                env["BENCH_ROOT"] = str(ROOT) + os.sep
                if self.cprofile:
                    env["BENCH_CPROFILE"] = "1"
                command = [sys.executable, "-c", SAMPLER, *args]
            else:
                command = [sys.executable, "-m", "daphne", *args]
            with self.log_path.open("a") as log:
                process = subprocess.Popen(  # noqa: S603  (our own interpreter and script)
                    command,
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            self.processes.append(process)
            self.pids.append(process.pid)

    def wait_healthy(self, timeout_s: float = 120) -> None:
        deadline = time.monotonic() + timeout_s
        for port, process in zip(self.ports, self.processes, strict=True):
            while True:
                if time.monotonic() > deadline:
                    raise SystemExit(
                        f"daphne ({self.mode}) did not answer in {timeout_s}s:\n{self.log_tail()}"
                    )
                if process.poll() is not None:
                    raise SystemExit(f"daphne ({self.mode}) exited:\n{self.log_tail()}")
                try:
                    url = f"http://127.0.0.1:{port}/healthz"
                    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
                        if response.status == 200:
                            break
                except OSError:
                    time.sleep(0.2)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def cpu_seconds(self) -> float:
        import psutil

        total = 0.0
        for pid in self.pids:
            times = psutil.Process(pid).cpu_times()
            total += float(times.user + times.system)
        return total

    def thread_cpu_seconds(self) -> dict[int, float]:
        """Per thread of the sampled (first) process: the sampler knows only its threads."""
        import psutil

        return {t.id: t.user_time + t.system_time for t in psutil.Process(self.pid).threads()}

    def metrics(self) -> dict[str, float]:
        """Encoder batcher counters from every process's /metrics (sums since they started)."""
        wanted = {
            'tessera_model_batch_size_count{task="encoder"}': "batches",
            'tessera_model_batch_size_sum{task="encoder"}': "items",
            'tessera_model_inference_seconds_sum{task="encoder"}': "busy_s",
        }
        out = {"batches": 0.0, "items": 0.0, "busy_s": 0.0}
        for port in self.ports:
            url = f"http://127.0.0.1:{port}/metrics"
            with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310
                text = response.read().decode()
            for line in text.splitlines():
                key, _, value = line.rpartition(" ")
                if key in wanted:
                    out[wanted[key]] += float(value)
        return out

    def profile_snapshot(self) -> dict[str, Any] | None:
        """Ask the sampler to dump (and reset) what it saw since the last snapshot."""
        if self.profile_path is None or not self.pid:
            return None
        self.profile_path.unlink(missing_ok=True)
        os.kill(self.pid, signal.SIGUSR1)
        for _ in range(100):
            if self.profile_path.exists():
                return json.loads(self.profile_path.read_text())
            time.sleep(0.05)
        return None

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


# -- websocket client -------------------------------------------------------------------------


@dataclass
class Sent:
    scheduled: float
    sent: float = 0.0
    replied: float | None = None
    error: str | None = None
    client_msg_id: str = ""


@dataclass
class Connection:
    """One customer socket on its own conversation; matches bot replies to sent messages."""

    server: Server
    conversation: str
    port: int = 0
    protocol: Any = None
    opened: asyncio.Future | None = None
    history: asyncio.Future | None = None
    closed: bool = False
    handed_off: bool = False  # the bot queued this conversation for a person: no more answers
    pending: deque = field(default_factory=deque)  # Sent, oldest first, awaiting the bot

    async def open(self, timeout_s: float = 30) -> None:
        from autobahn.asyncio.websocket import WebSocketClientFactory

        loop = asyncio.get_running_loop()
        self.opened, self.history = loop.create_future(), loop.create_future()
        url = f"ws://127.0.0.1:{self.port}/ws/chat/"  # the first message starts a conversation
        factory = WebSocketClientFactory(url, origin=f"http://127.0.0.1:{self.port}")
        factory.protocol = _ClientProtocol
        factory.connection = self
        await loop.create_connection(factory, "127.0.0.1", self.port)
        await asyncio.wait_for(self.history, timeout_s)

    def send(self, text: str, record: Sent) -> None:
        record.client_msg_id = uuid.uuid4().hex
        record.sent = time.perf_counter()
        self.pending.append(record)
        frame = {"type": "message", "text": text, "client_msg_id": record.client_msg_id}
        self.protocol.sendMessage(json.dumps(frame).encode())

    def on_frame(self, frame: dict[str, Any]) -> None:
        now = time.perf_counter()
        kind = frame.get("type")
        if kind == "history" and self.history is not None and not self.history.done():
            self.history.set_result(frame)
        elif kind == "message" and frame.get("sender") in ("bot", "system"):
            # A system message answers a question the bot read as asking for a person.
            if self.pending:
                self.pending.popleft().replied = now
        elif kind == "handoff":
            self.handed_off = True
        elif kind == "error":
            cid = frame.get("client_msg_id")
            record = next((r for r in self.pending if r.client_msg_id == cid), None)
            if record is None and self.pending:
                record = self.pending[0]  # reply_failed: the oldest unanswered message
            if record is not None:
                self.pending.remove(record)
                record.error = str(frame.get("code"))
                record.replied = now


def _client_protocol_class() -> type:
    from autobahn.asyncio.websocket import WebSocketClientProtocol

    class ClientProtocol(WebSocketClientProtocol):
        def onOpen(self) -> None:  # noqa: N802  (autobahn's API)
            conn = self.factory.connection
            conn.protocol = self
            self.sendMessage(json.dumps({"type": "hello", "customer": "bench"}).encode())
            if not conn.opened.done():
                conn.opened.set_result(True)

        def onMessage(self, payload: bytes, is_binary: bool) -> None:  # noqa: N802
            self.factory.connection.on_frame(json.loads(payload))

        def onClose(self, was_clean: bool, code: int | None, reason: str | None) -> None:  # noqa: N802
            conn = self.factory.connection
            conn.closed = True
            for future in (conn.opened, conn.history):
                if future is not None and not future.done():
                    future.set_exception(ConnectionError(f"closed: {code} {reason}"))

    return ClientProtocol


_ClientProtocol: Any = None


async def open_connections(
    server: Server, n: int, concurrency: int = 20, ports: list[int] | None = None
) -> list[Connection]:
    """`n` sockets, each on its own conversation, spread round-robin over the processes."""
    ports = ports or server.ports
    conns = [Connection(server, str(uuid.uuid4()), ports[i % len(ports)]) for i in range(n)]
    gate = asyncio.Semaphore(concurrency)

    async def one(conn: Connection) -> None:
        async with gate:
            await conn.open()

    await asyncio.gather(*(one(c) for c in conns))
    return conns


async def warm_up(server: Server, questions: list[str], rng: random.Random) -> float:
    """Load the encoder and index in the server (first answer), then a few more; returns s."""
    started = time.perf_counter()
    for port in server.ports:
        await _warm_up_process(server, port, questions, rng)
    return time.perf_counter() - started


async def _warm_up_process(
    server: Server, port: int, questions: list[str], rng: random.Random
) -> None:
    [conn] = await open_connections(server, 1, ports=[port])
    for i in range(12):
        record = Sent(scheduled=time.perf_counter())
        conn.send(rng.choice(questions), record)
        deadline = time.perf_counter() + (300 if i == 0 else 30)
        while record.replied is None:
            if time.perf_counter() > deadline or conn.closed:
                raise SystemExit(f"no answer from daphne ({server.mode}):\n{server.log_tail()}")
            await asyncio.sleep(0.01)
        if record.error:
            raise SystemExit(f"warm-up message failed ({record.error}):\n{server.log_tail()}")
    await close_all([conn])


async def send_open_loop(
    conns: list[Connection], rate: float, seconds: float, questions: list[str], rng: random.Random
) -> tuple[list[Sent], float]:
    """Poisson arrivals at `rate` for `seconds`; returns the records and the window start."""
    records: list[Sent] = []
    start = time.perf_counter() + 0.05
    at = start
    while True:
        at += rng.expovariate(rate)
        if at - start >= seconds:
            break
        delay = at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        record = Sent(scheduled=at)
        active = [c for c in conns if not c.handed_off] or conns
        conn = rng.choice(active)
        if conn.closed:
            raise SystemExit(f"a websocket closed during the run:\n{conn.server.log_tail()}")
        conn.send(rng.choice(questions), record)
        records.append(record)
    return records, start


async def drain(records: list[Sent], timeout_s: float) -> None:
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline and any(r.replied is None for r in records):
        await asyncio.sleep(0.05)


def _pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


# -- measurement ------------------------------------------------------------------------------


def answer_stats(window: tuple[float, float]) -> dict[str, Any]:
    """answer_question times (evidence.latency_ms) and decisions of bot messages saved in window."""
    from django.db import connection

    from apps.chat.models import Message

    start, end = (datetime.fromtimestamp(t, UTC) for t in window)
    evidence = list(
        Message.objects.filter(
            sender="bot", created_at__gte=start, created_at__lte=end
        ).values_list("evidence", flat=True)
    )
    connection.close()
    latencies = [float(e["latency_ms"]) for e in evidence if e and "latency_ms" in e]
    return {
        "answer_question_p50_ms": _pct(latencies, 50),
        "answer_question_p99_ms": _pct(latencies, 99),
        "decisions": dict(Counter(str(e.get("decision")) for e in evidence if e)),
    }


def machine_busy_s() -> float:
    import psutil

    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def profile_summary(
    raw: dict[str, Any] | None, cpu_by_thread: dict[int, float], wall_s: float, top: int = 12
) -> dict[str, Any] | None:
    """Per thread kind: CPU cores used, and the wall-time shares of where it was (sampled)."""
    if not raw or not raw.get("samples"):
        return None
    samples = raw["samples"]
    cpu_by_kind: Counter = Counter()
    for native_id, seconds in cpu_by_thread.items():
        cpu_by_kind[raw["kinds"].get(str(native_id), "other")] += seconds
    by_kind: dict[str, list] = defaultdict(list)
    for kind, where, n in raw["stacks"]:
        by_kind[kind].append((where, n))
    out: dict[str, Any] = {
        "samples": samples,
        **(
            {"cprofile_tottime_s": raw["cprofile_tottime_s"]} if "cprofile_tottime_s" in raw else {}
        ),
        "gc_by_generation": raw.get("gc"),
        "cpu_cores_unsampled_threads": round(
            sum(v for k, v in cpu_by_kind.items() if k not in by_kind) / wall_s, 3
        ),
    }
    for kind, rows in sorted(by_kind.items()):
        total = sum(n for _, n in rows)
        rows.sort(key=lambda r: -r[1])
        out[kind] = {
            "cpu_cores": round(cpu_by_kind.get(kind, 0.0) / wall_s, 3),
            "thread_samples_per_tick": round(total / samples, 2),
            "top": [{"where": w, "share": round(n / total, 3)} for w, n in rows[:top]],
        }
    return out


async def run_step(
    server: Server,
    conns: list[Connection],
    rate: float,
    cfg: dict[str, Any],
    questions: list[str],
    rng: random.Random,
) -> dict[str, Any]:
    metrics_before = await asyncio.to_thread(server.metrics)
    threads_before: dict[int, float] = {}
    if server.profile_path is not None:
        await asyncio.to_thread(server.profile_snapshot)  # reset the sampler
        threads_before = server.thread_cpu_seconds()
    cpu_server, cpu_client = server.cpu_seconds(), time.process_time()
    busy, wall, unix_start = machine_busy_s(), time.perf_counter(), time.time()
    records, start = await send_open_loop(conns, rate, cfg["seconds"], questions, rng)
    window_end = start + cfg["seconds"]
    await drain(records, cfg["drain_s"])
    wall = time.perf_counter() - wall
    cpu_server = server.cpu_seconds() - cpu_server
    cpu_client = time.process_time() - cpu_client
    busy = machine_busy_s() - busy
    profile = None
    if server.profile_path is not None:
        threads_after = server.thread_cpu_seconds()
        cpu_by_thread = {
            tid: seconds - threads_before.get(tid, 0.0) for tid, seconds in threads_after.items()
        }
        raw_profile = await asyncio.to_thread(server.profile_snapshot)
        profile = profile_summary(raw_profile, cpu_by_thread, wall)
    metrics_after = await asyncio.to_thread(server.metrics)

    answered = [r for r in records if r.replied is not None and r.error is None]
    rtt_ms = [(r.replied - r.sent) * 1000 for r in answered]
    errors = Counter(r.error for r in records if r.error)
    timeouts = sum(1 for r in records if r.replied is None)
    in_window = sum(1 for r in answered if r.replied <= window_end)
    lag_ms = [max(0.0, r.sent - r.scheduled) * 1000 for r in records]
    batches = metrics_after["batches"] - metrics_before["batches"]
    items = metrics_after["items"] - metrics_before["items"]
    encoder_busy = metrics_after["busy_s"] - metrics_before["busy_s"]
    step: dict[str, Any] = {
        "rate_msgs_per_s": rate,
        "sent": len(records),
        "answered": len(answered),
        "msgs_per_s": round(in_window / cfg["seconds"], 1),
        "p50_ms": _pct(rtt_ms, 50),
        "p90_ms": _pct(rtt_ms, 90),
        "p99_ms": _pct(rtt_ms, 99),
        "max_ms": round(max(rtt_ms), 1) if rtt_ms else None,
        "errors": dict(errors),
        "timeouts": timeouts,
        "conversations_handed_off": sum(c.handed_off for c in conns),
        "send_lag_p99_ms": _pct(lag_ms, 99),
        "encoder_batches": int(batches),
        "encoder_mean_batch": round(items / batches, 2) if batches else None,
        "encoder_busy_share": round(encoder_busy / wall, 3),
        "cpu_cores": {
            "server": round(cpu_server / wall, 2),
            "client": round(cpu_client / wall, 2),
            "other": round(max(0.0, busy - cpu_server - cpu_client) / wall, 2),
        },
        "wall_s": round(wall, 1),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
        "window_unix": [unix_start, time.time()],
    }
    if profile is not None:
        step["profile"] = profile
    step["within_budget"] = bool(
        rtt_ms and step["p99_ms"] < cfg["budget_ms"] and not errors and not timeouts
    )
    return step


def capacity(steps: list[dict[str, Any]]) -> float:
    best = 0.0
    for step in sorted(steps, key=lambda s: s["rate_msgs_per_s"]):
        if not step["within_budget"]:
            break
        best = step["rate_msgs_per_s"]
    return best


def print_table(modes: dict[str, dict[str, Any]]) -> None:
    header = (
        f"{'mode':<6}{'rate':>6}{'sent':>7}{'msg/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'err':>5}"
        f"{'t/o':>5}{'batch':>7}{'answer p50':>11}{'srv cpu':>8}{'cli cpu':>8}{'other':>7}  ok"
    )
    print(header)
    for mode, result in modes.items():
        for s in result["steps"]:
            fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
            print(
                f"{mode:<6}{s['rate_msgs_per_s']:>6g}{s['sent']:>7}{s['msgs_per_s']:>8.1f}"
                f"{fmt(s['p50_ms']):>9}{fmt(s['p99_ms']):>9}{sum(s['errors'].values()):>5}"
                f"{s['timeouts']:>5}{fmt(s['encoder_mean_batch']):>7}"
                f"{fmt(s['answer_question_p50_ms']):>11}{s['cpu_cores']['server']:>8.2f}"
                f"{s['cpu_cores']['client']:>8.2f}{s['cpu_cores']['other']:>7.2f}"
                f"  {'yes' if s['within_budget'] else 'no'}"
            )
        print(f"{mode:<6}capacity {result['capacity_msgs_per_s']:g} msg/s")


# -- main -------------------------------------------------------------------------------------


def server_env(args: argparse.Namespace, database_url: str, artifacts: Path, var_dir: Path) -> dict:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "ML_ARTIFACTS_DIR": str(artifacts),
        "TESSERA_VAR_DIR": str(var_dir),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "CHAT_RATE_PER_MINUTE_CONVERSATION": UNLIMITED,
        "CHAT_RATE_PER_MINUTE_IP": UNLIMITED,
        "CHAT_CONNECTS_PER_MINUTE_IP": UNLIMITED,
        "ML_ENCODER_INT8": args.encoder_int8,
        "ML_ENCODER_RUNTIME": args.encoder_runtime,
        "ML_DEVICE": args.device,
    }
    env.pop("REDIS_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    if args.redis_url:
        env["REDIS_URL"] = args.redis_url
        env["TESSERA_REDIS_PREFIX"] = f"bench-chat-load-{os.getpid()}:"
    optional = {
        "ASGI_THREADS": args.asgi_threads,
        "ML_BATCH_MAX_SIZE": args.batch_max_size,
        "ML_BATCH_MAX_WAIT_MS": args.batch_max_wait_ms,
        "DB_CONN_MAX_AGE": args.db_conn_max_age,
        "OMP_NUM_THREADS": args.torch_threads,  # torch's intra-op threads (read at start)
    }
    for key, value in optional.items():
        if value is not None:
            env[key] = str(value)
    return env


async def run_load(cfg: dict[str, Any]) -> dict[str, Any]:
    """The client process: warm up, connect, step the rate up per mode; returns raw results."""
    global _ClientProtocol
    _ClientProtocol = _client_protocol_class()
    servers = {ref["mode"]: Server.from_ref(ref) for ref in cfg["servers"]}
    questions, rates = cfg["questions"], cfg["rates"]
    rng = random.Random(cfg["seed"])
    warm = {}
    for mode, server in servers.items():
        warm[mode] = round(await warm_up(server, questions, rng), 1)
        log(f"{mode}: warmed up in {warm[mode]} s")
    conns = {}
    for mode, server in servers.items():
        conns[mode] = await open_connections(server, cfg["clients"])
        # A short unmeasured run at the lowest rate: pool threads, caches, first batches.
        records, _ = await send_open_loop(conns[mode], rates[0], 3.0, questions, rng)
        await drain(records, cfg["drain_s"])
    log(f"{cfg['clients']} websockets open per server")

    results: dict[str, dict[str, Any]] = {m: {"steps": [], "stopped_early": False} for m in servers}
    for i, rate in enumerate(rates):
        order = list(servers) if i % 2 == 0 else list(servers)[::-1]
        for mode in order:
            result = results[mode]
            if result["stopped_early"]:
                continue
            step = await run_step(servers[mode], conns[mode], rate, cfg, questions, rng)
            result["steps"].append(step)
            log(
                f"{mode:>4} rate {rate:>6g}: {step['msgs_per_s']:>6.1f} msg/s  p50 "
                f"{step['p50_ms']} ms  p99 {step['p99_ms']} ms  errors {step['errors']} "
                f"timeouts {step['timeouts']}  batch {step['encoder_mean_batch']}  "
                f"cpu {step['cpu_cores']}"
            )
            failed = step["timeouts"] + sum(step["errors"].values())
            if (step["p99_ms"] or 0) > cfg["stop_p99_ms"] or failed > 0.01 * max(1, step["sent"]):
                result["stopped_early"] = True
            await asyncio.sleep(1.0)
    await close_all([c for mode_conns in conns.values() for c in mode_conns])
    return {"modes": results, "warm_up_s": warm}


async def close_all(conns: list[Connection], timeout_s: float = 15) -> None:
    """Close handshakes, so the servers see clean disconnects; abort whatever hangs."""
    for conn in conns:
        if conn.protocol is not None and not conn.closed:
            conn.protocol.sendClose(code=1000)
    deadline = time.perf_counter() + timeout_s
    while time.perf_counter() < deadline and not all(c.closed for c in conns):
        await asyncio.sleep(0.05)
    for conn in conns:
        if conn.protocol is not None and not conn.closed:
            conn.protocol.transport.abort()


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def client_main(config_path: Path) -> int:
    """Entry of the client process (no Django here: daphne's import claims txaio for Twisted,
    and the main process's large heap would add GC pauses to the measured round trips)."""
    cfg = json.loads(config_path.read_text())
    results = asyncio.run(run_load(cfg))
    Path(cfg["out"]).write_text(json.dumps(results), encoding="utf-8")
    return 0


def run_client_process(
    servers: dict[str, Server], args: argparse.Namespace, kb: KnowledgeBase, run_dir: Path
) -> dict[str, Any]:
    cfg = {
        "servers": [s.ref() for s in servers.values()],
        "questions": kb.questions,
        "rates": args.rates,
        "clients": args.clients,
        "seconds": args.seconds,
        "drain_s": args.drain_s,
        "budget_ms": args.budget_ms,
        "stop_p99_ms": args.stop_p99_ms,
        "seed": args.seed,
        "out": str(run_dir / "client-results.json"),
    }
    config_path = run_dir / "client-config.json"
    config_path.write_text(json.dumps(cfg), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    completed = subprocess.run(  # noqa: S603
        [sys.executable, str(Path(__file__).resolve()), "--client-worker", str(config_path)],
        env=env,
        check=False,
    )
    if completed.returncode != 0:
        tails = "\n".join(f"--- {m}\n{s.log_tail()}" for m, s in servers.items())
        raise SystemExit(f"the client process failed ({completed.returncode}); servers:\n{tails}")
    return json.loads(Path(cfg["out"]).read_text())


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--client-worker"]:
        return client_main(Path(argv[1]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--phrasings", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rates", default="25,50,100,150,200,300", help="msgs/s, comma-separated")
    parser.add_argument("--seconds", type=float, default=20.0, help="sending time per rate")
    parser.add_argument("--modes", default="on,off", help="batching modes to run: on, off")
    parser.add_argument("--budget-ms", type=float, default=150.0, help="p99 round-trip budget")
    parser.add_argument("--stop-p99-ms", type=float, default=1000.0)
    parser.add_argument("--drain-s", type=float, default=15.0, help="wait for late replies")
    parser.add_argument("--asgi-threads", type=int, default=None, help="server thread pool")
    parser.add_argument("--batch-max-size", type=int, default=None)
    parser.add_argument("--batch-max-wait-ms", type=float, default=None)
    parser.add_argument("--db-conn-max-age", type=int, default=None)
    parser.add_argument(
        "--torch-threads", type=int, default=None, help="OMP_NUM_THREADS for the servers"
    )
    parser.add_argument(
        "--encoder-int8",
        choices=["auto", "1", "0"],
        default="auto",
        help="ML_ENCODER_INT8 in the servers (auto: int8 in ONNX Runtime, the project default)",
    )
    parser.add_argument(
        "--encoder-runtime",
        choices=["auto", "torch", "onnx"],
        default="auto",
        help="ML_ENCODER_RUNTIME in the servers (auto: onnx on CPU, the project default)",
    )
    parser.add_argument("--device", default="auto", help="ML_DEVICE for the servers")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument(
        "--sqlite-wal",
        action="store_true",
        help="SQLite in WAL mode, synchronous=NORMAL, IMMEDIATE transactions",
    )
    parser.add_argument(
        "--sqlite-dir",
        type=Path,
        default=None,
        help="where the SQLite file goes (default: the system temp dir; commit cost is that "
        "disk's fsync time)",
    )
    parser.add_argument("--redis-url", default=None, help="default: embedded mode, no Redis")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE)
    parser.add_argument(
        "--build-threads", type=int, default=None, help="torch threads for the index build"
    )
    parser.add_argument(
        "--setup-only", action="store_true", help="build the cached database and index, then stop"
    )
    parser.add_argument(
        "--server-processes",
        type=int,
        default=1,
        help="Daphne processes per batching mode; sockets spread over them round-robin "
        "(pass --redis-url with more than one, as a deployment would)",
    )
    parser.add_argument("--profile", action="store_true", help="sample the servers' threads")
    parser.add_argument(
        "--cprofile",
        action="store_true",
        help="also cProfile every server thread (slows them down; implies --profile)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--keep-run-dir", action="store_true", help="keep logs and database")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    args.rates = sorted({float(r) for r in args.rates.split(",") if r.strip()})
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not args.rates or min(args.rates) <= 0 or args.clients < 1 or args.phrasings < 1:
        parser.error("--rates must be positive; --clients and --phrasings >= 1")
    if args.server_processes < 1:
        parser.error("--server-processes must be >= 1")
    if not modes or set(modes) - {"on", "off"}:
        parser.error("--modes takes on and/or off")

    if not (args.data / "train.csv").is_file():
        print(f"chat_load skipped: {args.data}/train.csv not found (pass --data DIR)")
        return 0

    kb = build_knowledge_base(args.data, args.phrasings, args.seed)
    run_dir = Path(tempfile.mkdtemp(prefix="chat_load-", dir=args.sqlite_dir))
    try:
        return _run(args, modes, kb, run_dir)
    finally:
        if args.keep_run_dir:
            print(f"run dir kept: {run_dir}")
        else:
            shutil.rmtree(run_dir, ignore_errors=True)


@dataclass
class Setup:
    database_url: str
    artifacts: Path
    var_dir: Path
    info: dict[str, Any]


def prepare(args: argparse.Namespace, kb: KnowledgeBase, run_dir: Path) -> Setup:
    """Database and index for this run: copied / read from the cache, or built and cached."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from config.env import default_base_model_dir

    model = Path(os.environ.get("ML_BASE_MODEL") or default_base_model_dir())
    fingerprint = kb.fingerprint(f"{model.parent.name}/{model.name}")
    cache = args.cache_dir / fingerprint
    artifacts = cache / "artifacts"
    info: dict[str, Any] = {"cache": str(cache), "fingerprint": fingerprint}
    run_db = run_dir / "db.sqlite3"
    if args.database_url:
        database_url = args.database_url
    else:
        database_url = f"sqlite:///{run_db}"
        if args.sqlite_wal:  # django-environ turns the query into DATABASES OPTIONS
            database_url += "?" + urllib.parse.urlencode(SQLITE_WAL_OPTIONS)
        if (cache / "db.sqlite3").is_file():
            shutil.copy2(cache / "db.sqlite3", run_db)
    index_ready = (artifacts / "indexes" / "chat_kb" / "CURRENT").is_file()
    building = cache.with_name(f"{fingerprint}.building-{os.getpid()}")
    django_setup(
        database_url, artifacts if index_ready else building / "artifacts", run_dir / "var"
    )
    started = time.perf_counter()
    info["database"] = database_fill(kb)
    info["database_s"] = round(time.perf_counter() - started, 1)
    if not index_ready:
        if args.build_threads:
            import torch

            torch.set_num_threads(args.build_threads)
        print(f"building the index of {len(kb.phrasings)} phrasings (cached in {cache})")
        info["index_build_s"] = round(index_build(len(kb.phrasings)), 1)
        if not args.database_url:
            sqlite_snapshot(run_db, building / "db.sqlite3")
        cache.parent.mkdir(parents=True, exist_ok=True)
        if cache.exists():  # another run finished first: keep its copy
            shutil.rmtree(building, ignore_errors=True)
        else:
            os.replace(building, cache)
    elif not args.database_url and not (cache / "db.sqlite3").is_file():
        sqlite_snapshot(run_db, cache / "db.sqlite3")
    info["index"] = "built" if "index_build_s" in info else "cached"
    return Setup(database_url, artifacts, run_dir / "var", info)


def sqlite_snapshot(source: Path, target: Path) -> None:
    """Copy the run's SQLite file into the cache, closed and in the default journal mode."""
    import sqlite3

    from django.db import connections

    connections.close_all()  # the last connection to close checkpoints a WAL file
    shutil.copy2(source, target)
    db = sqlite3.connect(target)
    try:
        db.execute("PRAGMA journal_mode=DELETE")  # WAL sticks to the file; runs choose
    finally:
        db.close()


def _run(args: argparse.Namespace, modes: list[str], kb: KnowledgeBase, run_dir: Path) -> int:
    setup = prepare(args, kb, run_dir)
    if args.setup_only:
        print(f"setup done: {setup.info}")
        return 0
    database_url, artifacts, var_dir = setup.database_url, setup.artifacts, setup.var_dir

    from django.conf import settings
    from django.db import connection

    from ml.device import resolve_device

    device = resolve_device(args.device)
    servers = {
        mode: Server(
            mode,
            {
                **server_env(args, database_url, artifacts, var_dir),
                "ML_BATCHING": str(int(mode == "on")),
            },
            run_dir,
            args.profile or args.cprofile,
            args.cprofile,
            args.server_processes,
        )
        for mode in modes
    }
    load_before = os.getloadavg()
    try:
        for server in servers.values():
            server.start()
        for server in servers.values():
            server.wait_healthy()
        raw = run_client_process(servers, args, kb, run_dir)
        server_logs = {m: s.log_tail() for m, s in servers.items()}
    finally:
        for server in servers.values():
            server.stop()
    load_after = os.getloadavg()
    results, warm = raw["modes"], raw["warm_up_s"]
    for result in results.values():
        for step in result["steps"]:
            window = step.pop("window_unix")
            step.update(answer_stats((window[0], window[1])))
        result["capacity_msgs_per_s"] = capacity(result["steps"])

    env = server_env(args, database_url, artifacts, var_dir)
    threads = int(env.get("ASGI_THREADS") or min(32, (os.cpu_count() or 1) + 4))
    caps = {mode: results[mode]["capacity_msgs_per_s"] for mode in results}
    ratio = caps["on"] / caps["off"] if {"on", "off"} <= set(caps) and caps["off"] else None
    result: dict[str, Any] = {
        "created": datetime.now(UTC).isoformat(),
        "device": device,
        "cpu": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "load_avg": {
            "before": [round(x, 2) for x in load_before],
            "after": [round(x, 2) for x in load_after],
            "note": "1, 5, 15 minute load averages of the whole machine",
        },
        "data": str(args.data),
        "phrasings": len(kb.phrasings),
        "entries": len(kb.entries),
        "questions": len(kb.questions),
        "question_source": kb.question_source,
        "clients": args.clients,
        "seconds_per_rate": args.seconds,
        "rates_msgs_per_s": args.rates,
        "budget_p99_ms": args.budget_ms,
        "settings": {
            "ML_BATCH_MAX_SIZE": int(env.get("ML_BATCH_MAX_SIZE") or settings.ML_BATCH_MAX_SIZE),
            "ML_BATCH_MAX_WAIT_MS": float(
                env.get("ML_BATCH_MAX_WAIT_MS") or settings.ML_BATCH_MAX_WAIT_MS
            ),
            "ASGI_THREADS": threads,
            "server_processes_per_mode": args.server_processes,
            "ASGI_THREADS_set": "ASGI_THREADS" in env,
            "DB_CONN_MAX_AGE": int(
                env.get("DB_CONN_MAX_AGE") or settings.DATABASES["default"]["CONN_MAX_AGE"]
            ),
            "ML_ENCODER_INT8": args.encoder_int8,
            "ML_ENCODER_RUNTIME": args.encoder_runtime,
            "server_torch_threads": int(env["OMP_NUM_THREADS"])
            if env.get("OMP_NUM_THREADS")
            else "torch default (one per core)",
            "database": connection.vendor,
            **(
                {
                    "sqlite_dir": str(run_dir.parent),
                    "sqlite_journal_mode": sqlite_journal_mode(),
                    "sqlite_options": dict(settings.DATABASES["default"].get("OPTIONS", {})),
                    "sqlite_commit_ms": sqlite_commit_ms(run_dir),
                }
                if connection.vendor == "sqlite"
                else {}
            ),
            "channel_layer": f"redis {env.get('CHANNEL_LAYER', 'pubsub')}"
            if args.redis_url
            else "in-memory",
            "index_kind": "hnsw"
            if len(kb.phrasings) >= settings.CHAT_INDEX_APPROXIMATE_THRESHOLD
            else "flat",
            "intent_classifier": "none (retrieval only: no chat.intent model promoted)",
            "server_log_level": "WARNING",
            "cpu_pinning": "none: client and servers share every CPU",
        },
        "setup": setup.info,
        "warm_up_s": warm,
        "modes": results,
        "capacity_msgs_per_s": caps,
        "batching_speedup": round(ratio, 2) if ratio is not None else None,
        "targets": {
            **TARGETS,
            "capacity_met": caps.get("on", 0.0) >= TARGETS["capacity_with_batching_msgs_per_s"],
            "speedup_met": ratio is not None and ratio >= TARGETS["batching_speedup"],
        },
    }
    errors_seen = any(s["errors"] for r in results.values() for s in r["steps"])
    if errors_seen:
        result["server_log_tails"] = server_logs
    print()
    print(
        f"device={device} cpus={os.cpu_count()} phrasings={len(kb.phrasings)} "
        f"clients={args.clients} processes={args.server_processes} threads={threads} "
        f"batch<={result['settings']['ML_BATCH_MAX_SIZE']} "
        f"wait {result['settings']['ML_BATCH_MAX_WAIT_MS']} ms  load {load_before[0]:.2f} -> "
        f"{load_after[0]:.2f}"
    )
    print_table(results)
    if ratio is not None:
        print(f"batching speedup (capacity on / off): {ratio:.2f}x")
    print(f"targets: {result['targets']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

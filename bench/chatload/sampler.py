"""Run Daphne under a stack sampler: `python -m bench.chatload.sampler <daphne args>`.

Every 10 ms a daemon thread records where each Python thread of the server is (the innermost
frame of this project's code, and the leaf function), grouped by thread kind: the event loop
("main"), the ASGI thread pool ("pool"), the micro-batcher ("batcher"). Garbage collections are
counted with their pauses (a collection holds the GIL: every thread stops). With
BENCH_CPROFILE=1 every thread also runs cProfile (own time per function; it slows the server).
SIGUSR1 dumps what was seen since the last dump to $BENCH_SAMPLER_OUT (JSON, atomically) and
resets the counts; bench.chatload.server reads it between load steps.
"""

from __future__ import annotations

import cProfile
import gc
import json
import os
import signal
import sys
import threading
import time
from collections import Counter
from types import FrameType
from typing import Any

INTERVAL_S = 0.01
TOP_STACKS = 400


def kind_of(name: str) -> str:
    """Thread kind from its name: Daphne's loop, the ASGI pool, the batcher worker, other."""
    if name == "MainThread":
        return "main"
    if name.endswith("-worker"):
        return "batcher"
    return "pool" if name.startswith(("ThreadPoolExecutor", "asyncio_")) else "other"


def where(frame: FrameType | None, root: str) -> str:
    """`<project file>:<function> > <leaf file>:<function>`: the innermost project frame
    (outside .venv, and not this sampler: a GC pause is charged to the code that set it off)
    says which of our code paths is waiting, the leaf on what."""
    if frame is None:
        return "?"
    code = frame.f_code
    leaf = f"{os.path.basename(code.co_filename)}:{code.co_name}"
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(root) and "/.venv/" not in path and path != __file__:
            return f"{path[len(root) :]}:{frame.f_code.co_name} > {leaf}"
        frame = frame.f_back
    return leaf


class Sampler:
    """Stack counts per (thread kind, place), GC pauses and optional per-thread cProfiles."""

    def __init__(self, out_path: str, root: str, cprofile: bool) -> None:
        self.out_path = out_path
        self.root = root
        self.counts: Counter[tuple[str, str]] = Counter()
        self.kinds: dict[int, str] = {}  # native thread id -> kind
        self.samples = 0
        self.lock = threading.Lock()
        self.gc_started = 0.0
        self.gc_runs = [0, 0, 0]
        self.gc_ms = [0.0, 0.0, 0.0]
        self.gc_max_ms = 0.0
        self.profiles: dict[int, cProfile.Profile] = {}  # native thread id -> profile
        self.cprofile = cprofile
        self.stopped = threading.Event()  # set to end run() (tests; the server never stops it)

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self.gc_started = time.perf_counter()
            return
        ms = (time.perf_counter() - self.gc_started) * 1000
        self.gc_runs[info["generation"]] += 1
        self.gc_ms[info["generation"]] += ms
        self.gc_max_ms = max(self.gc_max_ms, ms)

    def start_profiling(self, *_: Any) -> None:
        """threading calls this once in each new thread, before run(): swap in cProfile."""
        profile = cProfile.Profile()
        self.profiles[threading.get_native_id()] = profile
        profile.enable()

    def run(self) -> None:
        me = threading.get_ident()
        while not self.stopped.wait(INTERVAL_S):
            threads = {t.ident: t for t in threading.enumerate()}
            frames = sys._current_frames()
            with self.lock:
                self.samples += 1
                for ident, frame in frames.items():
                    thread = threads.get(ident)
                    if ident == me or thread is None or thread.native_id is None:
                        continue
                    kind = kind_of(thread.name)
                    self.kinds[thread.native_id] = kind
                    self.counts[(kind, where(frame, self.root))] += 1

    def cprofile_top(self, n: int = 20) -> dict[str, list[list[Any]]]:
        """Per thread kind: the functions with the most own time (tottime), summed over threads."""
        by_kind: dict[str, dict[str, list[float]]] = {}
        for native_id, profile in list(self.profiles.items()):
            kind = self.kinds.get(native_id, "other")
            profile.snapshot_stats()  # reads the counters without stopping the profiler
            table = by_kind.setdefault(kind, {})
            stats: dict[tuple[str, int, str], tuple[Any, ...]] = profile.stats  # type: ignore[attr-defined]
            for (path, line, name), (_, calls, tottime, _, _) in stats.items():
                row = table.setdefault(f"{os.path.basename(path)}:{line}:{name}", [0, 0.0])
                row[0] += calls
                row[1] += tottime
            profile.clear()
        return {
            kind: sorted(
                ([key, int(calls), round(t, 4)] for key, (calls, t) in table.items()),
                key=lambda row: -row[2],
            )[:n]
            for kind, table in by_kind.items()
        }

    def dump(self, *_: Any) -> None:
        """SIGUSR1: write the counts since the last dump, then reset them."""
        with self.lock:
            data: dict[str, Any] = {
                "samples": self.samples,
                "interval_s": INTERVAL_S,
                "kinds": dict(self.kinds),
                "stacks": [[k, w, n] for (k, w), n in self.counts.most_common(TOP_STACKS)],
                "gc": {
                    "runs": list(self.gc_runs),
                    "ms": [round(x, 1) for x in self.gc_ms],
                    "max_ms": round(self.gc_max_ms, 1),
                },
            }
            self.counts.clear()
            self.samples = 0
            self.gc_runs, self.gc_ms, self.gc_max_ms = [0, 0, 0], [0.0, 0.0, 0.0], 0.0
        if self.profiles:
            data["cprofile_tottime_s"] = self.cprofile_top()
        tmp = self.out_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
        os.replace(tmp, self.out_path)


def main() -> None:
    sampler = Sampler(
        os.environ["BENCH_SAMPLER_OUT"],
        os.environ["BENCH_ROOT"],
        cprofile=bool(os.environ.get("BENCH_CPROFILE")),
    )
    gc.callbacks.append(sampler.on_gc)
    if sampler.cprofile:
        threading.setprofile(sampler.start_profiling)
    signal.signal(signal.SIGUSR1, sampler.dump)
    threading.Thread(target=sampler.run, name="bench-sampler", daemon=True).start()
    sys.argv = ["daphne", *sys.argv[1:]]
    from daphne.cli import CommandLineInterface

    if sampler.cprofile:
        sampler.start_profiling()  # the main thread (the event loop) too
    CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()

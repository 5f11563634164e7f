"""bench/chatload/sampler.py, the profiler `chat_load.py --profile` runs Daphne under."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

from bench.chatload.sampler import Sampler, kind_of, where

ROOT = str(Path(__file__).resolve().parents[2]) + "/"


def test_thread_kinds_follow_the_names_of_the_servers_threads() -> None:
    assert kind_of("MainThread") == "main"
    assert kind_of("encoder-worker") == "batcher"
    assert kind_of("ThreadPoolExecutor-0_3") == "pool"
    assert kind_of("asyncio_1") == "pool"
    assert kind_of("bench-sampler") == "other"


def test_where_names_the_innermost_project_frame_and_the_leaf() -> None:
    frame = sys._getframe()
    assert where(frame, ROOT) == (
        "tests/bench/test_chat_load_sampler.py:"
        "test_where_names_the_innermost_project_frame_and_the_leaf > "
        "test_chat_load_sampler.py:test_where_names_the_innermost_project_frame_and_the_leaf"
    )
    assert where(frame, "/nowhere/") == (
        "test_chat_load_sampler.py:test_where_names_the_innermost_project_frame_and_the_leaf"
    )


def test_dump_writes_the_counts_since_the_last_dump_and_resets(tmp_path: Path) -> None:
    out = tmp_path / "profile.json"
    sampler = Sampler(str(out), ROOT, cprofile=False)
    sampler.on_gc("start", {"generation": 1})
    sampler.on_gc("stop", {"generation": 1})
    stop = threading.Event()
    waiter = threading.Thread(target=stop.wait, name="ThreadPoolExecutor-0_0")
    waiter.start()
    sampler_thread = threading.Thread(target=sampler.run, name="bench-sampler", daemon=True)
    sampler_thread.start()
    try:
        while sampler.samples < 3:
            stop.wait(0.01)
    finally:
        stop.set()
        waiter.join()
        sampler.stopped.set()
        sampler_thread.join()

    sampler.dump()

    data = json.loads(out.read_text())
    assert data["samples"] >= 3 and data["interval_s"] == 0.01
    assert "pool" in data["kinds"].values()
    assert any(kind == "pool" and n >= 1 for kind, _where, n in data["stacks"])
    assert data["gc"]["runs"] == [0, 1, 0]
    sampler.dump()
    assert json.loads(out.read_text())["gc"]["runs"] == [0, 0, 0]

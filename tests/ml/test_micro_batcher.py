"""MicroBatcher: real threads, a fake clock, a batch_fn that records what it was given.

The clock decides when a batch's wait budget is spent, so these tests step it by hand and
check which items shared a batch; no assertion depends on how fast this machine is.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from concurrent.futures import CancelledError, Future

import pytest

from ml.serving import BatcherClosed, MicroBatcher


class FakeClock:
    """A monotonic clock that moves only when told to, and counts who looked at it."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.reads = 0
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            self.reads += 1
            return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Poll a condition another thread makes true (a hang guard, not a timing assertion)."""
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.005)


class Recorder:
    """A batch_fn (x -> x * 10) that remembers each batch and the thread that ran it.

    With a clock, each call moves it by `cost_s` (the time the batch "took").
    """

    def __init__(self, clock: FakeClock | None = None, cost_s: float = 0.0) -> None:
        self.clock = clock
        self.cost_s = cost_s
        self.batches: list[list[int]] = []
        self.threads: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, items: list[int]) -> list[int]:
        with self._lock:
            self.batches.append(list(items))
            self.threads.append(threading.get_ident())
        if self.clock is not None:
            self.clock.advance(self.cost_s)
        return [x * 10 for x in items]


def test_concurrent_submits_share_batches_and_each_caller_gets_its_own_result() -> None:
    clock = FakeClock()
    fn = Recorder(clock, cost_s=0.005)
    hook_calls: list[tuple[int, float]] = []
    batcher: MicroBatcher[int, int] = MicroBatcher(
        fn,
        max_batch_size=8,
        max_wait_ms=1000,  # never spent: the clock moves 5 ms per batch only
        on_batch=lambda n, s: hook_calls.append((n, s)),
        clock=clock,
    )
    n = 40
    barrier = threading.Barrier(n)
    results: dict[int, int] = {}

    def client(i: int) -> None:
        barrier.wait()
        results[i] = batcher.submit(i).result(timeout=30)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    batcher.close()

    assert results == {i: i * 10 for i in range(n)}
    assert [len(b) for b in fn.batches] == [8] * 5  # every batch waited until it was full
    assert sorted(x for b in fn.batches for x in b) == list(range(n))
    stats = batcher.stats
    assert (stats.batches, stats.items) == (5, n)
    assert stats.mean_batch_size == 8
    assert hook_calls == [(8, pytest.approx(0.005))] * 5  # seconds measured on the clock
    assert stats.busy_seconds == pytest.approx(0.025)


def test_submit_many_keeps_order_and_respects_max_batch_size() -> None:
    clock = FakeClock()
    fn = Recorder()
    with MicroBatcher(fn, max_batch_size=4, max_wait_ms=20, clock=clock) as batcher:
        futures = batcher.submit_many(range(25))
        wait_for(lambda: len(fn.batches) == 6, "six full batches")
        assert not futures[24].done()  # the last item waits for companions...
        clock.advance(0.02)  # ...until its wait budget is spent
        assert [f.result(timeout=30) for f in futures] == [i * 10 for i in range(25)]
    assert [len(b) for b in fn.batches] == [4, 4, 4, 4, 4, 4, 1]
    assert [x for b in fn.batches for x in b] == list(range(25))


def test_max_wait_bounds_latency_of_a_lonely_request() -> None:
    clock = FakeClock()
    fn = Recorder()
    with MicroBatcher(fn, max_batch_size=32, max_wait_ms=20, clock=clock) as batcher:
        lonely = batcher.submit(7)
        reads = clock.reads
        wait_for(lambda: clock.reads >= reads + 3, "the worker re-reading the clock")
        assert not lonely.done() and fn.batches == []  # it waits for companions...
        clock.advance(0.019)
        companion = batcher.submit(8)
        wait_for(lambda: clock.reads >= reads + 6, "the worker re-reading the clock")
        assert not lonely.done()
        clock.advance(0.002)  # ...but not for a full batch: past 20 ms after the first item
        assert (lonely.result(timeout=30), companion.result(timeout=30)) == (70, 80)
    assert fn.batches == [[7, 8]]

    eager_fn = Recorder()
    with MicroBatcher(eager_fn, max_batch_size=32, max_wait_ms=0, clock=FakeClock()) as eager:
        assert eager.submit(1).result(timeout=30) == 10  # the clock never moved: no waiting
    assert eager_fn.batches == [[1]]


def test_batch_fn_exception_reaches_every_future_of_that_batch_only() -> None:
    def fn(items: list[str]) -> list[str]:
        if "bad" in items:
            raise ValueError("poisoned batch")
        return [s.upper() for s in items]

    clock = FakeClock()
    with MicroBatcher(fn, max_batch_size=3, max_wait_ms=20, clock=clock) as batcher:
        futures = batcher.submit_many(["a", "bad", "c"])
        for f in futures:
            with pytest.raises(ValueError, match="poisoned batch"):
                f.result(timeout=30)
        survivor = batcher.submit("ok")
        clock.advance(1)
        assert survivor.result(timeout=30) == "OK"  # the worker survived
        assert batcher.stats.failed_batches == 1
        assert batcher.stats.batches == 2


def test_result_list_of_wrong_length_fails_the_whole_batch() -> None:
    with MicroBatcher(
        lambda items: items[:-1], max_batch_size=3, max_wait_ms=20, clock=FakeClock()
    ) as batcher:
        futures = batcher.submit_many([1, 2, 3])
        for f in futures:
            with pytest.raises(ValueError, match="returned 2 results for 3 items"):
                f.result(timeout=30)


def test_disabled_mode_calls_batch_fn_per_item_in_the_callers_thread() -> None:
    fn = Recorder()
    sizes: list[int] = []
    batcher = MicroBatcher(fn, enabled=False, on_batch=lambda n, s: sizes.append(n))
    futures = batcher.submit_many(range(5))
    assert all(f.done() for f in futures)  # resolved before submit returned
    assert [f.result() for f in futures] == [0, 10, 20, 30, 40]
    assert fn.batches == [[0], [1], [2], [3], [4]]
    assert set(fn.threads) == {threading.get_ident()}
    assert sizes == [1] * 5
    assert batcher.stats.mean_batch_size == 1.0
    batcher.close()
    with pytest.raises(RuntimeError):
        batcher.submit(1)


def test_asubmit_batches_coroutines_from_one_event_loop() -> None:
    fn = Recorder()
    batcher: MicroBatcher[int, int] = MicroBatcher(
        fn, max_batch_size=5, max_wait_ms=20, clock=FakeClock()
    )
    direct: MicroBatcher[int, int] = MicroBatcher(Recorder(), enabled=False)

    async def main() -> tuple[list[int], int]:
        batched = await asyncio.gather(*(batcher.asubmit(i) for i in range(20)))
        return list(batched), await direct.asubmit(3)

    batched, single = asyncio.run(main())
    batcher.close()
    assert batched == [i * 10 for i in range(20)]
    assert single == 30
    assert [len(b) for b in fn.batches] == [5, 5, 5, 5]


def test_close_fails_queued_items_lets_running_batch_finish_and_rejects_new_ones() -> None:
    running = threading.Event()
    release = threading.Event()

    def fn(items: list[int]) -> list[int]:
        running.set()
        release.wait(timeout=5)
        return [x + 1 for x in items]

    batcher = MicroBatcher(fn, max_batch_size=1, max_wait_ms=0, name="closing")
    in_flight = batcher.submit(1)
    assert running.wait(timeout=2)
    queued = batcher.submit_many([2, 3])

    batcher.close(timeout=0.1)  # worker is still inside fn: close must not hang
    for f in queued:
        with pytest.raises(BatcherClosed, match="'closing' was closed before this item"):
            f.result(timeout=1)
    with pytest.raises(RuntimeError, match="closed"):
        batcher.submit(4)

    release.set()
    assert in_flight.result(timeout=2) == 2
    worker = next((t for t in threading.enumerate() if t.name == "closing-worker"), None)
    if worker is not None:
        worker.join(timeout=2)
        assert not worker.is_alive()


def test_cancelled_futures_are_skipped() -> None:
    release = threading.Event()
    seen: list[list[int]] = []

    def fn(items: list[int]) -> list[int]:
        seen.append(list(items))
        release.wait(timeout=5)
        return items

    with MicroBatcher(fn, max_batch_size=1, max_wait_ms=0) as batcher:
        first = batcher.submit(1)
        second: Future[int] = batcher.submit(2)
        assert second.cancel()
        third = batcher.submit(3)
        release.set()
        assert (first.result(timeout=2), third.result(timeout=2)) == (1, 3)
        with pytest.raises(CancelledError):
            second.result()
    assert seen == [[1], [3]]

"""MicroBatcher: real threads, real timing, a batch_fn that records what it was given."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import CancelledError, Future

import pytest

from ml.serving import BatcherClosed, MicroBatcher


class Recorder:
    """A batch_fn (x -> x * 10) that remembers each batch and the thread that ran it."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.batches: list[list[int]] = []
        self.threads: list[int] = []
        self._lock = threading.Lock()

    def __call__(self, items: list[int]) -> list[int]:
        with self._lock:
            self.batches.append(list(items))
            self.threads.append(threading.get_ident())
        if self.delay_s:
            time.sleep(self.delay_s)
        return [x * 10 for x in items]


def test_concurrent_submits_share_batches_and_each_caller_gets_its_own_result() -> None:
    fn = Recorder(delay_s=0.005)
    hook_calls: list[tuple[int, float]] = []
    batcher: MicroBatcher[int, int] = MicroBatcher(
        fn, max_batch_size=64, max_wait_ms=20, on_batch=lambda n, s: hook_calls.append((n, s))
    )
    n = 40
    barrier = threading.Barrier(n)
    results: dict[int, int] = {}

    def client(i: int) -> None:
        barrier.wait()
        results[i] = batcher.submit(i).result(timeout=5)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=10)
    batcher.close()

    assert results == {i: i * 10 for i in range(n)}
    assert len(fn.batches) <= n // 4, fn.batches  # far fewer calls than items
    assert sorted(x for b in fn.batches for x in b) == list(range(n))
    stats = batcher.stats
    assert (stats.batches, stats.items) == (len(fn.batches), n)
    assert stats.mean_batch_size == pytest.approx(n / len(fn.batches))
    assert [size for size, _ in hook_calls] == [len(b) for b in fn.batches]
    assert all(seconds >= 0.004 for _, seconds in hook_calls)


def test_submit_many_keeps_order_and_respects_max_batch_size() -> None:
    fn = Recorder()
    with MicroBatcher(fn, max_batch_size=4, max_wait_ms=50) as batcher:
        futures = batcher.submit_many(range(25))
        assert [f.result(timeout=5) for f in futures] == [i * 10 for i in range(25)]
    assert [len(b) for b in fn.batches] == [4, 4, 4, 4, 4, 4, 1]
    assert [x for b in fn.batches for x in b] == list(range(25))


def test_max_wait_bounds_latency_of_a_lonely_request() -> None:
    fn = Recorder()
    with MicroBatcher(fn, max_batch_size=32, max_wait_ms=60) as batcher:
        started = time.perf_counter()
        assert batcher.submit(7).result(timeout=2) == 70
        elapsed = time.perf_counter() - started
    assert fn.batches == [[7]]
    assert 0.05 <= elapsed < 0.5  # it waited for companions, but not for a full batch

    with MicroBatcher(Recorder(), max_batch_size=32, max_wait_ms=0) as eager:
        started = time.perf_counter()
        assert eager.submit(1).result(timeout=2) == 10
        assert time.perf_counter() - started < 0.05


def test_batch_fn_exception_reaches_every_future_of_that_batch_only() -> None:
    def fn(items: list[str]) -> list[str]:
        if "bad" in items:
            raise ValueError("poisoned batch")
        return [s.upper() for s in items]

    with MicroBatcher(fn, max_batch_size=8, max_wait_ms=30) as batcher:
        futures = batcher.submit_many(["a", "bad", "c"])
        for f in futures:
            with pytest.raises(ValueError, match="poisoned batch"):
                f.result(timeout=2)
        assert batcher.submit("ok").result(timeout=2) == "OK"  # the worker survived
        assert batcher.stats.failed_batches == 1
        assert batcher.stats.batches == 2


def test_result_list_of_wrong_length_fails_the_whole_batch() -> None:
    with MicroBatcher(lambda items: items[:-1], max_batch_size=8, max_wait_ms=30) as batcher:
        futures = batcher.submit_many([1, 2, 3])
        for f in futures:
            with pytest.raises(ValueError, match="returned 2 results for 3 items"):
                f.result(timeout=2)


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
    batcher: MicroBatcher[int, int] = MicroBatcher(fn, max_batch_size=64, max_wait_ms=20)
    direct: MicroBatcher[int, int] = MicroBatcher(Recorder(), enabled=False)

    async def main() -> tuple[list[int], int]:
        batched = await asyncio.gather(*(batcher.asubmit(i) for i in range(20)))
        return list(batched), await direct.asubmit(3)

    batched, single = asyncio.run(main())
    batcher.close()
    assert batched == [i * 10 for i in range(20)]
    assert single == 30
    assert len(fn.batches) < 20


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

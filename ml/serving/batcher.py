"""Micro-batching: turn many concurrent single-item requests into one batched call.

A transformer forward pass over 32 sentences costs little more than over one, so an online
endpoint that receives requests one at a time wastes most of the accelerator. `MicroBatcher`
queues requests for a few milliseconds and hands them to `batch_fn` together; each caller still
gets its own result through a `concurrent.futures.Future`.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, InvalidStateError
from dataclasses import dataclass
from typing import Generic, TypeVar, cast

logger = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


class BatcherClosed(RuntimeError):
    """Raised by `submit` after `close`, and set on futures that `close` left unprocessed."""


@dataclass(frozen=True)
class BatcherStats:
    """A snapshot of what the batcher has done; `mean_batch_size` is the number that matters."""

    batches: int
    items: int
    failed_batches: int
    busy_seconds: float

    @property
    def mean_batch_size(self) -> float:
        return self.items / self.batches if self.batches else 0.0


@dataclass
class _Pending(Generic[T, R]):
    item: T
    future: Future[R]
    enqueued_at: float


_STOP = object()


def _fail(future: Future[R], exc: BaseException) -> None:
    """Set `exc` unless the future already finished or was cancelled (never raise from cleanup)."""
    try:
        future.set_exception(exc)
    except InvalidStateError:
        pass


class MicroBatcher(Generic[T, R]):
    """Group concurrent `submit` calls into one `batch_fn(items)` call on a single worker thread.

    The worker blocks for the first item, then keeps collecting until it has `max_batch_size`
    items or `max_wait_ms` have passed since that first item was submitted, calls `batch_fn`
    once and resolves every item's future with its own result (results are matched by position).
    An exception from `batch_fn`, or a result list of the wrong length, fails every future of
    that batch; later batches are unaffected.

    With `enabled=False` no thread is started and `submit` calls `batch_fn([item])` in the
    caller's thread, so a benchmark can compare both paths with the same code and hooks.
    `on_batch(batch_size, seconds)` is called after every `batch_fn` call (metrics hook); its
    own exceptions are logged and ignored. `clock` (seconds, monotonic) decides when a wait
    budget is spent and how long a batch took; tests pass a fake one to control both.
    """

    def __init__(
        self,
        batch_fn: Callable[[list[T]], Sequence[R]],
        *,
        max_batch_size: int = 32,
        max_wait_ms: float = 5.0,
        name: str = "batcher",
        on_batch: Callable[[int, float], None] | None = None,
        enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_batch_size < 1:
            raise ValueError(f"max_batch_size must be >= 1, got {max_batch_size}")
        if max_wait_ms < 0:
            raise ValueError(f"max_wait_ms must be >= 0, got {max_wait_ms}")
        self._batch_fn = batch_fn
        self.max_batch_size = max_batch_size
        self.max_wait_s = max_wait_ms / 1000.0
        self.name = name
        self.enabled = enabled
        self._on_batch = on_batch
        self._clock = clock
        self._queue: queue.SimpleQueue[_Pending[T, R] | object] = queue.SimpleQueue()
        self._lock = threading.Lock()  # orders submit against close
        self._stats_lock = threading.Lock()
        self._closed = False
        self._batches = 0
        self._items = 0
        self._failed_batches = 0
        self._busy_seconds = 0.0
        self._thread: threading.Thread | None = None
        if enabled:
            self._thread = threading.Thread(target=self._run, name=f"{name}-worker", daemon=True)
            self._thread.start()

    # -- public API ---------------------------------------------------------------------------

    def submit(self, item: T) -> Future[R]:
        """Queue one item; the future resolves when its batch has run."""
        return self.submit_many([item])[0]

    def submit_many(self, items: Iterable[T]) -> list[Future[R]]:
        """Queue several items back to back (so they tend to share a batch); one future each.

        In disabled mode each item still gets its own `batch_fn([item])` call, which is what
        an unbatched server would do per request.
        """
        items = list(items)
        if not self.enabled:
            self._check_open()
            return [self._call_direct(item) for item in items]
        futures: list[Future[R]] = []
        with self._lock:
            self._check_open()
            now = self._clock()
            for item in items:
                future: Future[R] = Future()
                self._queue.put(_Pending(item, future, now))
                futures.append(future)
        return futures

    async def asubmit(self, item: T) -> R:
        """Awaitable `submit` for async code (Channels consumers); never blocks the event loop.

        In disabled mode the direct call runs in the loop's default executor for that reason.
        """
        if not self.enabled:
            self._check_open()
            loop = asyncio.get_running_loop()
            future = await loop.run_in_executor(None, self._call_direct, item)
            return future.result()
        return await asyncio.wrap_future(self.submit(item))

    @property
    def stats(self) -> BatcherStats:
        with self._stats_lock:
            return BatcherStats(
                batches=self._batches,
                items=self._items,
                failed_batches=self._failed_batches,
                busy_seconds=self._busy_seconds,
            )

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self, timeout: float | None = 5.0) -> None:
        """Stop the worker and fail every item not yet handed to `batch_fn` with BatcherClosed.

        A batch already running is allowed to finish (its callers get real results). Waits up
        to `timeout` seconds for the worker thread; safe to call more than once.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(_STOP)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning("%s: worker still busy after close(timeout=%s)", self.name, timeout)
        self._drain()

    def __enter__(self) -> MicroBatcher[T, R]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise BatcherClosed(f"MicroBatcher {self.name!r} is closed")

    def _closed_error(self) -> BatcherClosed:
        return BatcherClosed(
            f"MicroBatcher {self.name!r} was closed before this item was processed"
        )

    def _drain(self) -> None:
        """Fail whatever is still queued (called after close)."""
        while True:
            try:
                pending = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(pending, _Pending):
                _fail(pending.future, self._closed_error())

    def _call_direct(self, item: T) -> Future[R]:
        future: Future[R] = Future()
        self._execute([_Pending(item, future, self._clock())])
        return future

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP or self._closed:
                if isinstance(first, _Pending):
                    _fail(first.future, self._closed_error())
                self._drain()
                return
            batch, stop = self._collect(cast("_Pending[T, R]", first))
            if self._closed:
                for pending in batch:
                    _fail(pending.future, self._closed_error())
                self._drain()
                return
            self._execute(batch)
            if stop or self._closed:  # closed while batch_fn ran: close() may have eaten _STOP
                self._drain()
                return

    def _collect(self, first: _Pending[T, R]) -> tuple[list[_Pending[T, R]], bool]:
        """Gather items until the batch is full or the first item's wait budget is spent."""
        batch = [first]
        deadline = first.enqueued_at + self.max_wait_s
        while len(batch) < self.max_batch_size:
            remaining = deadline - self._clock()
            try:
                if remaining > 0:
                    nxt = self._queue.get(timeout=remaining)
                else:  # budget spent (e.g. while the previous batch ran): take only what is there
                    nxt = self._queue.get_nowait()
            except queue.Empty:
                if remaining > 0:  # the clock decides, not the queue's timer: look again
                    continue
                break
            if nxt is _STOP:
                return batch, True
            batch.append(cast("_Pending[T, R]", nxt))
        return batch, False

    def _execute(self, batch: list[_Pending[T, R]]) -> None:
        # Drop items whose caller cancelled the future; the rest can no longer be cancelled.
        live = [p for p in batch if p.future.set_running_or_notify_cancel()]
        if not live:
            return
        started = self._clock()
        error: BaseException | None = None
        results: Sequence[R] = []
        try:
            results = self._batch_fn([p.item for p in live])
            if len(results) != len(live):
                error = ValueError(
                    f"{self.name}: batch_fn returned {len(results)} results for {len(live)} items"
                )
        except BaseException as exc:  # every caller must hear about it, or it waits forever
            error = exc
        seconds = self._clock() - started
        if error is None:
            for pending, result in zip(live, results, strict=True):
                pending.future.set_result(result)
        else:
            for pending in live:
                pending.future.set_exception(error)
        with self._stats_lock:
            self._batches += 1
            self._items += len(live)
            self._busy_seconds += seconds
            if error is not None:
                self._failed_batches += 1
        if self._on_batch is not None:
            try:
                self._on_batch(len(live), seconds)
            except Exception:
                logger.exception("%s: on_batch hook failed", self.name)

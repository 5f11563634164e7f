"""Background warm-up of a serving process, with a state that readiness probes can read.

A web process that answers its first request while still loading models makes that customer
wait seconds; a load balancer should route to it only once the warm-up is done. A failed
warm-up (a database not up yet, say) is retried with backoff instead of leaving the process
unready for good.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger(__name__)

OFF, RUNNING, RETRYING, DONE = "off", "running", "retrying", "done"


class WarmUp:
    """Runs `fn` in a daemon thread until it succeeds; `status()` says how far it got."""

    def __init__(
        self,
        fn: Callable[[], Any],
        *,
        name: str = "ml-preload",
        first_retry_s: float = 2.0,
        max_retry_s: float = 60.0,
    ) -> None:
        self._fn = fn
        self.name = name
        self._first_retry_s = first_retry_s
        self._max_retry_s = max_retry_s
        self._lock = threading.Lock()
        self._state = OFF
        self._attempts = 0
        self._error = ""
        self._result: Any = None
        self._started_at = 0.0
        self._seconds: float | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> WarmUp:
        with self._lock:
            if self._thread is not None:
                return self
            self._state, self._started_at = RUNNING, time.monotonic()
            self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def join(self, timeout: float | None = None) -> bool:
        """Wait for success; True when done (a failing warm-up keeps retrying meanwhile)."""
        if self._thread is not None:
            deadline = None if timeout is None else time.monotonic() + timeout
            while self.status()["state"] != DONE:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    break
                self._thread.join(0.05 if left is None else min(0.05, left))
        return self.status()["state"] == DONE

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": self._state,
                "attempts": self._attempts,
                "error": self._error,
                "seconds": self._seconds,
                "result": self._result,
            }

    def _run(self) -> None:
        delay = self._first_retry_s
        while True:
            with self._lock:
                self._attempts += 1
            try:
                result = self._fn()
            except Exception as exc:  # noqa: BLE001  reported in status(), retried below
                logger.exception("warm-up %s failed (attempt %d)", self.name, self._attempts)
                with self._lock:
                    self._state, self._error = RETRYING, f"{type(exc).__name__}: {exc}"
                time.sleep(delay)
                delay = min(delay * 2, self._max_retry_s)
                continue
            with self._lock:
                self._state, self._error, self._result = DONE, "", result
                self._seconds = round(time.monotonic() - self._started_at, 2)
            return


_current: WarmUp | None = None


def start_warm_up(fn: Callable[[], Any], *, name: str = "ml-preload") -> WarmUp:
    """Start this process's warm-up (once; later calls return the first one)."""
    global _current
    if _current is None:
        _current = WarmUp(fn, name=name)
    return _current.start()


def warm_up_status() -> dict[str, Any]:
    """This process's warm-up state; "off" when none was started (ML_PRELOAD=0, workers)."""
    if _current is None:
        return {"state": OFF, "attempts": 0, "error": "", "seconds": None, "result": None}
    return _current.status()

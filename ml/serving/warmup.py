"""Background warm-up of a serving process, with a state that readiness probes can read.

A web process that answers its first request while still loading models makes that customer
wait seconds; a load balancer should route to it only once the warm-up is done. A failed
warm-up (a database not up yet, say) is retried with backoff instead of leaving the process
unready for good. A process may run several named warm-ups side by side (one per app that
serves from it); each keeps its own state, and the process is ready when all are done.
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


class WarmUps:
    """The named warm-ups of one process (one per app), each started once, none dropped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[str, WarmUp] = {}

    def start(self, fn: Callable[[], Any], *, name: str, first_retry_s: float = 2.0) -> WarmUp:
        """Start the warm-up called `name`; a second start of the same name returns the first."""
        with self._lock:
            job = self._jobs.get(name)
            if job is None:
                job = self._jobs[name] = WarmUp(fn, name=name, first_retry_s=first_retry_s)
        return job.start()

    def statuses(self) -> dict[str, dict[str, Any]]:
        """Each started warm-up's status, by name."""
        with self._lock:
            jobs = dict(self._jobs)
        return {name: job.status() for name, job in sorted(jobs.items())}

    def status(self, name: str | None = None) -> dict[str, Any]:
        """One warm-up's status, or (no name) all of them folded into one.

        Folded: "off" when none was started, "done" when all are, "retrying" when any is
        retrying, else "running"; attempts add up, errors are prefixed with the warm-up's name.
        """
        statuses = self.statuses()
        if name is not None:
            return statuses.get(name) or _off_status()
        if not statuses:
            return _off_status()
        states = {status["state"] for status in statuses.values()}
        state = DONE if states == {DONE} else RETRYING if RETRYING in states else RUNNING
        seconds = [s["seconds"] for s in statuses.values()]
        return {
            "state": state,
            "attempts": sum(s["attempts"] for s in statuses.values()),
            "error": "; ".join(f"{n}: {s['error']}" for n, s in statuses.items() if s["error"]),
            "seconds": max(seconds) if None not in seconds else None,
            "result": {n: s["result"] for n, s in statuses.items()},
        }

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every started warm-up is done; True when all are."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            job.join(left)
        return all(job.status()["state"] == DONE for job in jobs)


def _off_status() -> dict[str, Any]:
    return {"state": OFF, "attempts": 0, "error": "", "seconds": None, "result": None}


# This process's warm-ups. Tests swap in a fresh `WarmUps()` with monkeypatch.
process_warm_ups = WarmUps()


def start_warm_up(fn: Callable[[], Any], *, name: str = "ml-preload") -> WarmUp:
    """Start this process's warm-up called `name` (once per name; others run beside it)."""
    return process_warm_ups.start(fn, name=name)


def warm_up_status(name: str | None = None) -> dict[str, Any]:
    """One warm-up's state, or all of them folded; "off" when none was started (workers)."""
    return process_warm_ups.status(name)


def warm_up_statuses() -> dict[str, dict[str, Any]]:
    return process_warm_ups.statuses()


def warm_ups_join(timeout: float | None = None) -> bool:
    return process_warm_ups.join(timeout)

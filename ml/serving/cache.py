"""Per-process cache of loaded models, following the registry's production version.

Loading a fine-tuned encoder takes seconds, so the online path must not load per request; but
a promotion in the registry has to reach every web/worker process without a restart. The cache
asks a resolver "what is production for this task?" at most every `check_interval_s` and loads
the new artifact only when the answer changes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, TypeVar

from ml.serving.heap import freeze_long_lived

logger = logging.getLogger(__name__)

P = TypeVar("P")

_NEVER = float("-inf")


class ModelNotAvailable(LookupError):
    """The registry has no production version for a task, so there is nothing to serve."""

    def __init__(self, task: str) -> None:
        self.task = task
        super().__init__(
            f"No production model for task {task!r}: train a version and promote one to "
            "production in the model registry."
        )


@dataclass
class _Entry(Generic[P]):
    # `current` is replaced as a whole so lock-free readers never see a version/model mismatch.
    current: tuple[str, P] | None = None
    checked_at: float = _NEVER
    lock: threading.Lock = field(default_factory=threading.Lock)


class PredictorCache(Generic[P]):
    """Map task name -> loaded model for its current production version.

    `resolver(task)` returns `(version_key, artifact_path)` or None; `loader(path)` builds the
    model. Each task has its own lock, so a slow load blocks only callers of that task, and
    concurrent callers for it load once. If loading a new version fails the previous model keeps
    serving (the error is logged and retried after the interval); with no previous model the
    loader's exception propagates. A resolver failure is handled the same way. A None from the
    resolver drops any loaded model and raises `ModelNotAvailable` (cached for the interval).
    """

    def __init__(
        self,
        *,
        loader: Callable[[Path], P],
        resolver: Callable[[str], tuple[str, Path] | None],
        check_interval_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if check_interval_s < 0:
            raise ValueError(f"check_interval_s must be >= 0, got {check_interval_s}")
        self._loader = loader
        self._resolver = resolver
        self.check_interval_s = check_interval_s
        self._clock = clock  # seconds, monotonic; tests pass a fake one to step past the interval
        self._entries: dict[str, _Entry[P]] = {}
        self._lock = threading.Lock()  # guards _entries only, never held while loading

    def get(self, task: str) -> P:
        """The model for `task`'s production version, loading or swapping it if needed."""
        return self.get_versioned(task)[1]

    def get_versioned(self, task: str) -> tuple[str, P]:
        """(version key, model) of `task`'s production version, read together: a swap between
        two separate calls could otherwise pair one version's key with another's model."""
        entry = self._entry(task)
        current = entry.current
        if self._fresh(entry):
            return self._served(task, current)
        with entry.lock:
            if self._fresh(entry):  # another caller refreshed it while we waited for the lock
                return self._served(task, entry.current)
            self._refresh(task, entry)
            return self._served(task, entry.current)

    def current_version(self, task: str) -> str | None:
        """Version key being served for `task` (no resolver call); None if nothing is loaded."""
        with self._lock:
            entry = self._entries.get(task)
        current = entry.current if entry is not None else None
        return current[0] if current is not None else None

    def invalidate(self, task: str | None = None) -> None:
        """Make the next `get` ask the resolver again (for one task, or all of them)."""
        with self._lock:
            entries = list(self._entries.values()) if task is None else [self._entries.get(task)]
        for entry in entries:
            if entry is not None:
                entry.checked_at = _NEVER

    # -- internals ----------------------------------------------------------------------------

    def _entry(self, task: str) -> _Entry[P]:
        with self._lock:
            entry = self._entries.get(task)
            if entry is None:
                entry = self._entries[task] = _Entry()
            return entry

    def _fresh(self, entry: _Entry[P]) -> bool:
        return self._clock() - entry.checked_at < self.check_interval_s

    @staticmethod
    def _served(task: str, current: tuple[str, P] | None) -> tuple[str, P]:
        # A fresh check with nothing loaded means the resolver just said "no production model";
        # that answer is cached for the interval too, so unpromoted tasks don't hit the DB per call.
        if current is None:
            raise ModelNotAvailable(task)
        return current

    def _refresh(self, task: str, entry: _Entry[P]) -> P:
        """Ask the resolver and load if the version changed; caller holds `entry.lock`."""
        current = entry.current
        try:
            resolved = self._resolver(task)
        except Exception:
            if current is None:
                raise
            logger.exception(
                "resolving production model for %r failed; keeping %s", task, current[0]
            )
            entry.checked_at = self._clock()
            return current[1]
        if resolved is None:
            if current is not None:
                logger.warning(
                    "task %r no longer has a production model; dropping %s", task, current[0]
                )
            entry.current = None
            entry.checked_at = self._clock()
            raise ModelNotAvailable(task)
        version_key, path = resolved
        if current is not None and current[0] == version_key:
            entry.checked_at = self._clock()
            return current[1]
        started = time.perf_counter()
        try:
            model = self._loader(Path(path))
        except Exception:
            if current is None:
                raise
            logger.exception(
                "loading %r version %s from %s failed; still serving %s",
                task,
                version_key,
                path,
                current[0],
            )
            entry.checked_at = self._clock()  # retry after the interval, not per request
            return current[1]
        entry.current = (version_key, model)
        replaced = current[0] if current else None
        del current  # the replaced model, if any, is garbage for the collection below
        freeze_long_lived(f"loading {task!r} version {version_key}")
        entry.checked_at = self._clock()
        logger.info(
            "loaded %r version %s from %s in %.2fs (was %s)",
            task,
            version_key,
            path,
            time.perf_counter() - started,
            replaced,
        )
        return model

"""Read-side handle that follows a saved index as a worker publishes new versions."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from ml.index.config import IndexConfig
from ml.index.persistence import read_current_version
from ml.index.vector_index import VectorIndex

log = logging.getLogger(__name__)


class ReloadingIndex:
    """Hands out the newest saved VectorIndex, polling `<path>/CURRENT` at most every interval.

    A new version is loaded off to the side and swapped in by a single reference assignment, so
    callers still holding the previous object keep searching it safely. Until anything is saved
    (or if the first load fails) `get()` returns an empty index with the configured dim. A
    version that fails to load is logged and skipped; the previous index stays in service.
    """

    def __init__(
        self,
        path: Path,
        config: IndexConfig,
        check_interval_s: float = 1.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if check_interval_s < 0:
            raise ValueError(f"check_interval_s={check_interval_s} must be >= 0")
        self._path = Path(path)
        self._config = config
        self._interval = check_interval_s
        self._clock = clock
        self._reload_lock = threading.Lock()
        self._index = VectorIndex(config)
        self._failed_version: int | None = None
        self._next_check = float("-inf")
        self._refresh()

    @property
    def path(self) -> Path:
        return self._path

    def get(self) -> VectorIndex:
        """The current index; cheap unless the check interval elapsed and CURRENT moved."""
        if self._clock() >= self._next_check and self._reload_lock.acquire(blocking=False):
            # Another thread already reloading: serve the current index rather than wait.
            try:
                if self._clock() >= self._next_check:
                    self._refresh()
            finally:
                self._reload_lock.release()
        return self._index

    def _refresh(self) -> None:
        self._next_check = self._clock() + self._interval
        try:
            version = read_current_version(self._path)
        except (OSError, ValueError) as exc:
            log.warning("cannot read index stamp under %s: %s", self._path, exc)
            return
        if version is None or version == self._index.version:
            return
        if version == self._failed_version:
            return
        try:
            loaded = VectorIndex.load(self._path, self._config)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            self._failed_version = version
            log.error(
                "cannot load index v%s from %s, keeping v%s: %s",
                version,
                self._path,
                self._index.version,
                exc,
            )
            return
        self._index = loaded
        log.info("loaded index v%s (%d vectors) from %s", loaded.version, len(loaded), self._path)

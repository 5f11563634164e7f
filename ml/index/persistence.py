"""Crash-safe versioned directories: `<path>/v<N>/...` plus a `<path>/CURRENT` stamp.

A writer fills a temp dir, fsyncs it, renames it to `v<N>` and only then atomically replaces
CURRENT, so a reader that follows CURRENT never sees a half-written version and a crash leaves at
most an ignored `.tmp-*` dir behind. Readers only need to re-read the tiny CURRENT file to notice
an update, which is what lets web processes pick up indexes written by a worker.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from ml.storage import fsync_file

CURRENT_FILE = "CURRENT"
LOCK_FILE = ".lock"
TMP_PREFIX = ".tmp-"
KEEP_VERSIONS = 2
_VERSION_DIR = re.compile(r"^v(\d+)$")


def version_dir(path: Path, version: int) -> Path:
    return Path(path) / f"v{version}"


def read_current_version(path: Path) -> int | None:
    """The version CURRENT points to, or None when nothing has been saved under `path`."""
    stamp = Path(path) / CURRENT_FILE
    try:
        text = stamp.read_text(encoding="ascii").strip()
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not text.isdigit():
        raise ValueError(f"{stamp} holds {text!r}, not a version number; delete it and save again")
    return int(text)


def list_versions(path: Path) -> list[int]:
    """Complete version dirs present under `path`, oldest first (temp dirs excluded)."""
    try:
        entries = list(Path(path).iterdir())
    except FileNotFoundError:
        return []
    found = []
    for entry in entries:
        match = _VERSION_DIR.match(entry.name)
        if match and entry.is_dir():
            found.append(int(match.group(1)))
    return sorted(found)


@contextlib.contextmanager
def _writer_lock(path: Path) -> Iterator[None]:
    """Serialise writers across processes so version numbers and pruning never race."""
    with open(path / LOCK_FILE, "a+b") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _write_current(path: Path, version: int) -> None:
    tmp = path / f"{CURRENT_FILE}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="ascii") as fh:
        fh.write(f"{version}\n")
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path / CURRENT_FILE)
    fsync_file(path)


def _prune(path: Path, keep: int) -> None:
    """Drop all but the newest `keep` versions and any temp dir left by a crashed writer."""
    versions = list_versions(path)
    for old in versions[:-keep]:
        shutil.rmtree(version_dir(path, old), ignore_errors=True)
    for entry in path.iterdir():
        if entry.name.startswith(TMP_PREFIX) and entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)


def save_version(
    path: Path, write: Callable[[Path, int], None], *, keep: int = KEEP_VERSIONS
) -> int:
    """Write a new version with `write(tmp_dir, version)` and publish it; returns the version.

    The number is one past both CURRENT and any existing `v<N>` dir, so writers in different
    processes taking turns keep counting up, and a version dir orphaned by a crash between the
    rename and the CURRENT update is never overwritten.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    with _writer_lock(path):
        current = read_current_version(path) or 0
        existing = list_versions(path)
        version = max(current, existing[-1] if existing else 0) + 1
        tmp = Path(tempfile.mkdtemp(prefix=f"{TMP_PREFIX}v{version}-", dir=path))
        try:
            write(tmp, version)
            for entry in tmp.iterdir():
                if entry.is_file():
                    fsync_file(entry)
            fsync_file(tmp)
            os.rename(tmp, version_dir(path, version))
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        fsync_file(path)
        _write_current(path, version)
        _prune(path, max(keep, 1))
    return version

"""Atomic writes for everything under ML_ARTIFACTS_DIR, on a local disk or a network filesystem.

Web processes and workers, possibly on several machines, share that directory. Every writer
therefore fills a temp file (or dir) in the *same* directory as its target, fsyncs it, and
renames it into place: a rename within one directory is atomic on POSIX filesystems and on NFS,
so a reader sees the old file or the new one, never half of one. The directory is fsynced after
the rename so the new name survives a crash of the machine that wrote it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

TMP_SUFFIX = ".tmp"


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Persist a directory's entries (a rename is only durable once its directory is synced)."""
    fsync_file(path)


def fsync_tree(root: Path) -> None:
    """Every file and directory under `root`, before the tree is renamed into place."""
    for dirpath, _dirnames, filenames in os.walk(root):
        for name in filenames:
            fsync_file(Path(dirpath) / name)
        fsync_dir(Path(dirpath))


def replace_synced(tmp: Path, target: Path) -> None:
    """Make a finished temp file durable, then atomically put it at `target`.

    `tmp` must be on `target`'s filesystem (beside it, or in a work dir beside it): a move
    across filesystems is a copy, which a reader could catch half-way.
    """
    tmp, target = Path(tmp), Path(target)
    if os.stat(tmp.parent).st_dev != os.stat(target.parent).st_dev:
        raise ValueError(f"{tmp} is on another filesystem than {target}; write it beside it")
    fsync_file(tmp)  # data first: after a crash the name never points at an unwritten file
    os.replace(tmp, target)
    fsync_dir(target.parent)


@contextlib.contextmanager
def atomic_write(target: Path, mode: str = "w", **open_kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temp file beside `target` for writing; on success it replaces `target`.

    On an exception the temp file is removed and `target` is left as it was.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode={mode!r}: atomic_write writes whole files ('w' or 'wb')")
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TMP_SUFFIX, dir=target.parent)
    tmp = Path(name)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        replace_synced(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

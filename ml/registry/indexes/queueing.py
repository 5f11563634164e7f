"""Queueing index work on the `gpu` queue, by task name: this package never imports ml.tasks."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from celery import current_app

from ml.registry.indexes.specs import index_names, index_spec


def _task_send(task_name: str, **kwargs: Any) -> None:
    """Queue a task by name; with CELERY_TASK_ALWAYS_EAGER (tests, no worker) run it here."""
    app = current_app
    if app.conf.task_always_eager:
        app.loader.import_default_modules()  # registers the tasks that autodiscovery finds
        app.tasks[task_name].apply_async(kwargs=kwargs)
        return
    app.send_task(task_name, kwargs=kwargs)


def index_sync_queue(*, name: str, ids: Iterable[int]) -> None:
    """Queue `index_sync` for these ids on the `gpu` queue (call it after the commit)."""
    index_spec(name=name)
    wanted = sorted({int(i) for i in ids})
    if wanted:
        _task_send("ml.index_sync", name=name, ids=wanted)


def index_rebuild_queue(*, name: str) -> None:
    index_spec(name=name)
    _task_send("ml.index_rebuild", name=name)


def index_ensure_current_queue_all() -> list[str]:
    """Queue `index_ensure_current` for every registered index (a worker does it on start)."""
    for name in index_names():
        _task_send("ml.index_ensure_current", name=name)
    return index_names()

"""What each app asks the core to serve: its web processes' models, and its batch scoring.

An app registers these from its AppConfig.ready(); the core then runs the lifecycle (web
warm-up, readiness, model loading, re-scoring after a promotion) without naming any app.
A web process holds only the tasks some app declared for the web: a model used only for
batch scoring is loaded by the `gpu` workers, never by a web process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class AppServingSpec:
    """What an app's web processes must hold, and what only its workers use.

    Attributes:
        app: the app label, e.g. "chat"; names its warm-up and its part of /readyz.
        web_tasks: model tasks whose production version every web process keeps loaded.
        worker_tasks: tasks used only by workers (batch scoring); never loaded by the web.
        warm_up: loads the rest of what the first request needs (encoders, indexes); run in
            a background thread of each web process when ML_PRELOAD is on, retried until it
            succeeds. Its return value (plain JSON) is shown in /readyz.
    """

    app: str
    web_tasks: tuple[str, ...] = ()
    worker_tasks: tuple[str, ...] = ()
    warm_up: Callable[[], Any] | None = None

    def __post_init__(self) -> None:
        both = set(self.web_tasks) & set(self.worker_tasks)
        if both:
            raise ValueError(
                f"app {self.app!r} lists {', '.join(sorted(both))} as both web and worker-only; "
                "a task the web holds is also usable by workers, so list it under web_tasks only"
            )


@dataclass(frozen=True)
class ScoredItem:
    """One item scored by a task's production version, as handed to the app's handler."""

    item_id: int
    label: str
    confidence: float
    probabilities: tuple[tuple[str, float], ...]  # the top labels, high to low
    version_id: int  # ModelVersion.id that scored it
    version: int  # its version number within the task


@dataclass(frozen=True)
class BatchScoringHandler:
    """An app's side of batch scoring for one task.

    Attributes:
        task: the model task whose production version scores the items.
        texts: item ids -> {id: text}; ids that no longer exist are simply left out.
        store: receives the scored items of one chunk (write them idempotently).
        recent_ids: the window to re-score when a new version of `task` is promoted, or None
            when the app does not want re-scoring.
        chunk_size: items per chunk of a re-scoring run (one progress update each).
    """

    task: str
    texts: Callable[[Sequence[int]], dict[int, str]]
    store: Callable[[Sequence[ScoredItem]], None]
    recent_ids: Callable[[], Sequence[int]] | None = None
    chunk_size: int = 256

    def __post_init__(self) -> None:
        if self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")


_serving: dict[str, AppServingSpec] = {}
_scoring: dict[str, BatchScoringHandler] = {}


def app_serving_register(spec: AppServingSpec) -> None:
    """Declare (or replace) an app's serving needs."""
    _serving[spec.app] = spec


def app_serving_unregister(app: str) -> None:
    _serving.pop(app, None)


def app_serving_list() -> list[AppServingSpec]:
    return sorted(_serving.values(), key=lambda spec: spec.app)


def web_tasks() -> set[str]:
    """Every task some app's web processes must hold."""
    return {task for spec in _serving.values() for task in spec.web_tasks}


def worker_only_tasks() -> set[str]:
    """Tasks only workers use: declared worker-only or batch-scored, and held by no web app."""
    declared = {task for spec in _serving.values() for task in spec.worker_tasks}
    return (declared | set(_scoring)) - web_tasks()


def batch_scoring_register(handler: BatchScoringHandler) -> None:
    """Declare (or replace) the handler that receives batch scores of `handler.task`."""
    _scoring[handler.task] = handler


def batch_scoring_unregister(task: str) -> None:
    _scoring.pop(task, None)


def batch_scoring_handler_get(task: str) -> BatchScoringHandler | None:
    return _scoring.get(task)

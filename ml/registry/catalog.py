"""Training tasks the apps offer (chat.intent, sentiment.headline, ...), registered at startup.

A task with a dataset builder snapshots its labelled rows from the database at training time;
any other task name can still be trained from a CSV file given on the version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ml.training import Example, TaskKind


@dataclass(frozen=True)
class TrainingTaskSpec:
    name: str
    task_type: TaskKind = TaskKind.CLASSIFICATION
    description: str = ""
    build_dataset: Callable[[], Sequence[Example]] | None = None
    default_hyperparameters: dict[str, Any] = field(default_factory=dict)


_catalog: dict[str, TrainingTaskSpec] = {}


def training_task_register(spec: TrainingTaskSpec) -> None:
    _catalog[spec.name] = spec


def training_task_get(name: str) -> TrainingTaskSpec | None:
    return _catalog.get(name)


def training_task_list() -> list[TrainingTaskSpec]:
    return sorted(_catalog.values(), key=lambda spec: spec.name)

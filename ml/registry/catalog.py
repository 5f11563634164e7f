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
    """A trainable task. `extra_metrics(config, examples, artifact_dir=, progress=,
    should_stop=)` runs after the fine-tune (same config and data, the saved model) and its dict
    is merged into the version's metrics:
    chat.intent stores the decision points it chose on cross-validated held-out data there.
    """

    name: str
    task_type: TaskKind = TaskKind.CLASSIFICATION
    description: str = ""
    build_dataset: Callable[[], Sequence[Example]] | None = None
    default_hyperparameters: dict[str, Any] = field(default_factory=dict)
    extra_metrics: Callable[..., dict[str, Any]] | None = None


_catalog: dict[str, TrainingTaskSpec] = {}


def training_task_register(spec: TrainingTaskSpec) -> None:
    _catalog[spec.name] = spec


def training_task_get(name: str) -> TrainingTaskSpec | None:
    return _catalog.get(name)


def training_task_list() -> list[TrainingTaskSpec]:
    return sorted(_catalog.values(), key=lambda spec: spec.name)

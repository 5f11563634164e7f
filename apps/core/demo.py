"""What each app contributes to `manage.py demo`: its demo data and the models to fine-tune."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class DemoContribution:
    app: str
    load_data: Callable[[], str]  # returns a one-line summary of what it loaded
    training_tasks: tuple[str, ...] = ()
    hyperparameters: dict[str, dict] = field(default_factory=dict)  # per task overrides
    urls: tuple[tuple[str, str], ...] = ()  # (title, url name) printed at start-up


_contributions: dict[str, DemoContribution] = {}


def demo_register(contribution: DemoContribution) -> None:
    _contributions[contribution.app] = contribution


def demo_contributions() -> list[DemoContribution]:
    return [_contributions[name] for name in sorted(_contributions)]

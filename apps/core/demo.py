"""What each app contributes to `manage.py demo`: its demo data, the models to fine-tune, and
the extra processes (and their environment) it needs running beside web, worker and beat."""

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
    # (process name, manage.py arguments): run beside web, worker and beat, stopped with them.
    processes: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Variables every demo process gets (e.g. EMAIL_URL pointing at a demo mail server).
    environment: dict[str, str] = field(default_factory=dict)


_contributions: dict[str, DemoContribution] = {}


def demo_register(contribution: DemoContribution) -> None:
    _contributions[contribution.app] = contribution


def demo_contributions() -> list[DemoContribution]:
    return [_contributions[name] for name in sorted(_contributions)]


def demo_environment() -> dict[str, str]:
    """Every contribution's variables; two apps asking for different values is a setup error."""
    merged: dict[str, str] = {}
    owners: dict[str, str] = {}
    for contribution in demo_contributions():
        for name, value in contribution.environment.items():
            if name in merged and merged[name] != value:
                raise ValueError(
                    f"demo: {contribution.app} sets {name}={value!r} but "
                    f"{owners[name]} set it to {merged[name]!r}"
                )
            merged[name], owners[name] = value, contribution.app
    return merged


def demo_processes() -> dict[str, tuple[str, ...]]:
    """Extra processes by name (`<app>-<name>`) with their manage.py arguments."""
    return {
        f"{contribution.app}-{name}": arguments
        for contribution in demo_contributions()
        for name, arguments in contribution.processes
    }


def demo_rescore_now(*, version_id: int) -> int:
    """Run here the re-scoring that promoting `version_id` queued; returns the items scored.

    The demo trains in-process, so it re-scores in-process too. Queued, the run waited for the
    demo's one worker and started when the news replay had just caught up on its history: a
    first `make demo` spent 67 s re-scoring those articles (each also has its own understanding
    task) ahead of the burst, whose alert email came 1 min 44 s after start-up. The worker then
    finds the run done and skips it.
    """
    from ml.registry.models import ScoringRun
    from ml.registry.scoring import scoring_run_execute

    scored = 0
    queued = ScoringRun.objects.filter(version_id=version_id, status=ScoringRun.Status.QUEUED)
    for run_id in queued.values_list("id", flat=True):
        run = scoring_run_execute(run_id=run_id)
        scored += run.done if run is not None else 0
    return scored

"""Starting and stopping an experiment: the checks the admin form and actions share."""

from __future__ import annotations

import math
import secrets
from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.recommender.models import Experiment
from ml.errors import Conflict, ServiceError

SHARE_TOLERANCE = 1e-6


class ExperimentInvalid(ServiceError):
    code = "experiment_invalid"


def experiment_salt_new() -> str:
    return secrets.token_hex(8)


def traffic_shares_problem(shares: Iterable[float]) -> str | None:
    """Why these variants' shares cannot split traffic, or None when they can."""
    shares = list(shares)
    if not shares:
        return "An experiment needs at least one variant."
    total = math.fsum(shares)
    if abs(total - 1.0) > SHARE_TOLERANCE:
        return f"Traffic shares add up to {total:g}; they must add up to 1."
    return None


def running_experiment_elsewhere(experiment: Experiment) -> Experiment | None:
    """The client's other running experiment, which would stop this one from starting."""
    return (
        Experiment.objects.filter(client_id=experiment.client_id, status=Experiment.Status.RUNNING)
        .exclude(pk=experiment.pk)
        .first()
    )


def experiment_start(*, experiment: Experiment) -> Experiment:
    """Running from now on; the salt (and so every user's variant) is fixed from here."""
    if experiment.status == Experiment.Status.RUNNING:
        return experiment
    problem = traffic_shares_problem(v.traffic_share for v in experiment.variants.all())
    if problem:
        raise ExperimentInvalid(f"{experiment.name}: {problem}")
    other = running_experiment_elsewhere(experiment)
    if other is not None:
        raise Conflict(
            f"{experiment.name}: {other.name} is already running for this client; stop it first."
        )
    experiment.status = Experiment.Status.RUNNING
    experiment.salt = experiment.salt or experiment_salt_new()
    experiment.started_at = experiment.started_at or timezone.now()
    experiment.stopped_at = None
    try:
        with transaction.atomic():
            experiment.save(update_fields=["status", "salt", "started_at", "stopped_at"])
    except IntegrityError as exc:  # another start won the race (one running per client)
        raise Conflict(f"{experiment.name}: another experiment started meanwhile.") from exc
    return experiment


def experiment_stop(*, experiment: Experiment) -> Experiment:
    if experiment.status != Experiment.Status.RUNNING:
        raise ExperimentInvalid(f"{experiment.name} is not running.")
    experiment.status = Experiment.Status.STOPPED
    experiment.stopped_at = timezone.now()
    experiment.save(update_fields=["status", "stopped_at"])
    return experiment

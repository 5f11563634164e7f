"""Which thresholds the bot decides with: the production intent model's own, or the defaults.

Training `chat.intent` stores decision points chosen on the model's held-out data
(`apps.chat.training.intent_decision_metrics`) in `ModelVersion.metrics["decision"]`. Serving
reads them once per model version (a version's metrics never change once it is ready) and falls
back to `CHAT_ANSWER_THRESHOLD` / `CHAT_SUGGEST_THRESHOLD` without a model or without points
(a model trained before points existed, or a retrieval-only bot).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from django.conf import settings

from apps.chat.answering import SUGGEST_ON_TOP1, Thresholds
from ml.training.decision import DecisionTargets

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_points: dict[str, Thresholds | None] = {}  # version key "id:vN" -> its stored points


@dataclass(frozen=True)
class DecisionThresholds:
    """Thresholds for one question and where they came from (shown in the evidence)."""

    thresholds: Thresholds
    source: str  # "model" (the version's own points) or "settings"


def decision_targets_get() -> DecisionTargets:
    """The admin's targets (Admin -> Decision targets), else the CHAT_TARGET_* settings."""
    from apps.chat.models import DecisionTargets as TargetsRow

    row = TargetsRow.objects.order_by("-updated_at", "-id").first()
    if row is not None:
        return DecisionTargets(**row.as_targets_kwargs())
    return decision_targets_from_settings()


def decision_targets_from_settings() -> DecisionTargets:
    """The CHAT_TARGET_* environment values (what a fresh deployment and the benchmark use)."""
    return DecisionTargets(
        answer_precision=settings.CHAT_TARGET_ANSWER_PRECISION,
        max_oos_answered=settings.CHAT_TARGET_MAX_OOS_ANSWERED,
        max_oos_kept=settings.CHAT_TARGET_MAX_OOS_KEPT,
        suggest_recall=settings.CHAT_TARGET_SUGGEST_RECALL,
    )


def default_thresholds() -> Thresholds:
    return Thresholds(
        answer=settings.CHAT_ANSWER_THRESHOLD, suggest=settings.CHAT_SUGGEST_THRESHOLD
    )


def _stored_points(version_key: str) -> Thresholds | None:
    from ml.registry.models import ModelVersion

    version_id = version_key.split(":", 1)[0]
    if not version_id.isdigit():
        return None
    stored = (
        ModelVersion.objects.filter(id=int(version_id))
        .values_list("metrics__decision", flat=True)
        .first()
    )
    if not isinstance(stored, dict):
        return None
    try:
        return Thresholds(
            answer=float(stored["answer"]),
            suggest=float(stored["suggest"]),
            suggest_on=str(stored.get("suggest_on", SUGGEST_ON_TOP1)),
        )
    except (KeyError, TypeError, ValueError) as exc:
        logger.warning("model %s has unusable decision points: %s", version_key, exc)
        return None


def decision_thresholds_for(version_key: str) -> DecisionThresholds:
    """The thresholds to decide with when `version_key` ("id:vN", "" for none) answered."""
    if not version_key:
        return DecisionThresholds(default_thresholds(), "settings")
    if version_key not in _points:
        points = _stored_points(version_key)
        with _lock:
            if len(_points) > 16:  # versions come and go; a few recent ones suffice
                _points.clear()
            _points[version_key] = points
    points = _points.get(version_key)
    if points is None:
        return DecisionThresholds(default_thresholds(), "settings")
    return DecisionThresholds(points, "model")

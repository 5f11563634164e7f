"""Alerts: run the rules, keep each alert with its evidence, and email subscribers once.

evaluation: rules x topics through the surge detector (apps/sentiment/surge.py)
emails:     who hears about what, rendered into outbox rows in the alert's transaction
outbox:     send with retry/backoff, exactly once under concurrent flushers
acknowledge: signed links that record who is on it
"""

from apps.sentiment.alerts.acknowledge import (
    AcknowledgeLinkInvalid,
    acknowledge_link_read,
    acknowledge_token,
    alert_acknowledge,
)
from apps.sentiment.alerts.evaluation import (
    EvaluationSummary,
    alerts_evaluate,
    alerts_evaluate_and_send,
)
from apps.sentiment.alerts.outbox import FlushSummary, outbox_flush, outbox_retry

__all__ = [
    "AcknowledgeLinkInvalid",
    "EvaluationSummary",
    "FlushSummary",
    "acknowledge_link_read",
    "acknowledge_token",
    "alert_acknowledge",
    "alerts_evaluate",
    "alerts_evaluate_and_send",
    "outbox_flush",
    "outbox_retry",
]

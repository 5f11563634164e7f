"""Signed acknowledge links: whoever got the email can say "I'm on it" without logging in.

The token names the alert and the address it was mailed to (signed with SECRET_KEY, salted,
expiring); following the link shows a confirmation page and only its POST records the
acknowledgement, so a mail scanner that prefetches links acknowledges nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction

from apps.sentiment.models import Alert
from ml.errors import ServiceError

ACK_SALT = "sentiment.alert-acknowledge"


class AcknowledgeLinkInvalid(ServiceError):
    code = "ack_link_invalid"
    status_code = 400


@dataclass(frozen=True)
class AcknowledgeLink:
    alert_id: int
    address: str


def acknowledge_token(*, alert_id: int, address: str) -> str:
    return signing.dumps({"alert": alert_id, "to": address}, salt=ACK_SALT, compress=True)


def acknowledge_link_read(token: str) -> AcknowledgeLink:
    """The link's alert and address; AcknowledgeLinkInvalid when tampered with or too old."""
    max_age = timedelta(days=settings.SENTIMENT_ACK_MAX_AGE_DAYS)
    try:
        payload = signing.loads(token, salt=ACK_SALT, max_age=max_age)
    except signing.SignatureExpired as exc:
        raise AcknowledgeLinkInvalid(
            "This acknowledge link has expired; acknowledge the alert in the admin.",
            code="ack_link_expired",
        ) from exc
    except signing.BadSignature as exc:
        raise AcknowledgeLinkInvalid(
            "This acknowledge link is not valid (copied incompletely or altered).",
            code="ack_link_invalid",
        ) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("alert"), int):
        raise AcknowledgeLinkInvalid("This acknowledge link is not valid.", code="ack_link_invalid")
    return AcknowledgeLink(alert_id=payload["alert"], address=str(payload.get("to", "")))


def alert_acknowledge(*, alert_id: int, by: str, now: datetime) -> tuple[Alert, bool]:
    """Record who acknowledged and when; the first acknowledgement wins. (alert, newly_acked)"""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().select_related("topic", "rule").get(pk=alert_id)
        if alert.acknowledged_at is not None:
            return alert, False
        alert.acknowledged_at = now
        alert.acknowledged_by = by[:300]
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        return alert, True

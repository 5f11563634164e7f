"""Send queued alert emails exactly once, retrying SMTP failures with exponential backoff.

Each row is claimed with SELECT ... FOR UPDATE SKIP LOCKED and kept locked while it is sent:
a second flusher skips it, and once the transaction commits it is SENT and no flusher's query
returns it again. A row becomes SENT only after the server accepted the message. The one gap
left is a crash after the server's "250 OK" and before the commit; the retry then carries the
same Message-ID, which receiving servers and clients use to drop the copy.
"""

from __future__ import annotations

import contextlib
import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.sentiment.models import EmailOutbox

logger = logging.getLogger(__name__)


def server_unreachable(error: OSError) -> bool:
    """The server is down or broke the session (not a refusal of this one message): the rest
    of the batch would fail the same way, so the flush stops and retries after the backoff."""
    if isinstance(error, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    return not isinstance(error, smtplib.SMTPException)  # refused, timed out, DNS, reset


@dataclass
class FlushSummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0  # gave up: FAILED, visible in admin


def backoff_delay(attempts: int) -> timedelta:
    """Wait before attempt `attempts + 1`: BACKOFF_S doubled per failure, capped."""
    seconds = settings.SENTIMENT_OUTBOX_BACKOFF_S * 2 ** max(attempts - 1, 0)
    return timedelta(seconds=min(seconds, settings.SENTIMENT_OUTBOX_BACKOFF_MAX_S))


def email_message_for(row: EmailOutbox, connection) -> EmailMultiAlternatives:  # noqa: ANN001
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[row.to_address],
        headers={"Message-ID": row.message_id},
        connection=connection,
    )
    message.attach_alternative(row.body_html, "text/html")
    return message


def _due(now: datetime):  # noqa: ANN202
    return EmailOutbox.objects.filter(status=EmailOutbox.Status.PENDING).filter(
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    )


def _record_failure(row: EmailOutbox, error: Exception, now: datetime) -> bool:
    """Count the attempt; True when it gave up (FAILED)."""
    row.attempts += 1
    row.last_error = f"{type(error).__name__}: {error}"[:2000]
    gave_up = row.attempts >= settings.SENTIMENT_OUTBOX_MAX_ATTEMPTS
    if gave_up:
        row.status = EmailOutbox.Status.FAILED
        row.next_attempt_at = None
    else:
        row.next_attempt_at = now + backoff_delay(row.attempts)
    row.save(update_fields=["attempts", "last_error", "status", "next_attempt_at"])
    return gave_up


def outbox_flush(*, now: datetime | None = None, limit: int | None = None) -> FlushSummary:
    """Send due PENDING emails, one transaction (and row lock) per email."""
    clock_given = now is not None
    now = now or timezone.now()
    limit = settings.SENTIMENT_OUTBOX_BATCH if limit is None else limit
    summary = FlushSummary()
    connection = get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT)
    try:
        for _ in range(limit):
            with transaction.atomic():
                row = (
                    _due(now)
                    .select_for_update(skip_locked=True)
                    .order_by("created_at", "id")
                    .first()
                )
                if row is None:
                    break
                try:
                    accepted = email_message_for(row, connection).send()
                except OSError as exc:  # smtplib.SMTPException is an OSError too
                    gave_up = _record_failure(row, exc, now)
                    summary.failed += gave_up
                    summary.retrying += not gave_up
                    logger.warning(
                        "alert email failed outbox=%s attempt=%s gave_up=%s error=%s",
                        row.id,
                        row.attempts,
                        gave_up,
                        type(exc).__name__,
                    )
                    # Start the next email on a fresh connection; stop if the server is gone.
                    with contextlib.suppress(OSError):
                        connection.close()
                    if server_unreachable(exc):
                        break
                    continue
                if not accepted:  # the backend said nothing was sent: not accepted, retry
                    _record_failure(row, RuntimeError("backend sent 0 messages"), now)
                    summary.retrying += 1
                    continue
                row.status = EmailOutbox.Status.SENT
                row.attempts += 1
                row.sent_at = now if clock_given else timezone.now()
                row.last_error = ""
                row.next_attempt_at = None
                row.save(
                    update_fields=["status", "attempts", "sent_at", "last_error", "next_attempt_at"]
                )
                summary.sent += 1
                logger.info("alert email sent outbox=%s alert=%s", row.id, row.alert_id)
    finally:
        with contextlib.suppress(OSError):
            connection.close()
    return summary


def outbox_retry(*, ids: list[int]) -> int:
    """Admin action: put FAILED (or stuck PENDING) rows back in the queue, due now."""
    return EmailOutbox.objects.filter(
        id__in=ids, status__in=[EmailOutbox.Status.FAILED, EmailOutbox.Status.PENDING]
    ).update(status=EmailOutbox.Status.PENDING, attempts=0, next_attempt_at=None)

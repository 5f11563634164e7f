"""Who hears about an alert, and the one grouped email each of them gets (as outbox rows).

A rule's evaluation may fire (or resolve) several topics at once; each subscriber gets one
email covering the topics they follow, with a signed acknowledge link per alert. The text is
rendered now and stored on the outbox row with a fixed Message-ID, so a retry sends exactly
the same message.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from urllib.parse import urljoin

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse

from apps.sentiment.alerts.acknowledge import acknowledge_token
from apps.sentiment.models import Alert, AlertRule, EmailOutbox, Subscription

SUBJECTS = {
    EmailOutbox.Kind.FIRED: "negative news surge",
    EmailOutbox.Kind.REMINDER: "still surging",
    EmailOutbox.Kind.RESOLVED: "resolved",
}
# The evidence key with the figures each email shows as "now" (fired: the firing window).
LATEST_FIGURES = {EmailOutbox.Kind.REMINDER: "latest", EmailOutbox.Kind.RESOLVED: "resolved"}


def absolute_url(path: str) -> str:
    return urljoin(settings.SENTIMENT_ALERT_BASE_URL.rstrip("/") + "/", path.lstrip("/"))


def recipients_for(*, rule: AlertRule, alerts: Sequence[Alert]) -> dict[str, list[Alert]]:
    """address (lower-cased) -> the alerts it should hear about, in the given order."""
    subscriptions = (
        Subscription.objects.filter(active=True, min_severity__lte=rule.severity)
        .select_related("user")
        .prefetch_related("topics")
    )
    wanted: dict[str, set[int]] = defaultdict(set)
    for subscription in subscriptions:
        address = subscription.address.strip().lower()
        if not address or (subscription.user_id and not subscription.user.is_active):
            continue
        topic_ids = {topic.id for topic in subscription.topics.all()}
        wanted[address] |= {
            alert.id for alert in alerts if not topic_ids or alert.topic_id in topic_ids
        }
    return {
        address: [alert for alert in alerts if alert.id in alert_ids]
        for address, alert_ids in sorted(wanted.items())
        if alert_ids
    }


def message_id_for(*, alert: Alert, kind: str, address: str, sequence: int = 0) -> str:
    """Stable per outbox row: a resend after a lost reply carries the same Message-ID."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip(" >") or "localhost"
    digest = hashlib.sha256(address.encode()).hexdigest()[:16]
    return f"<tessera.alert.{alert.id}.{kind}{sequence or ''}.{digest}@{domain}>"


def email_render(
    *, rule: AlertRule, alerts: Sequence[Alert], kind: str, address: str, sequence: int = 0
) -> dict:
    """Subject, plain text and HTML of one grouped email to `address`."""
    items = [
        {
            "alert": alert,
            "topic": alert.topic,
            "evidence": alert.evidence,
            "figures": alert.evidence.get(LATEST_FIGURES.get(kind, ""), alert.evidence),
            "headlines": alert.evidence.get("headlines", []),
            "ack_url": absolute_url(
                reverse(
                    "sentiment:alert_acknowledge",
                    args=[acknowledge_token(alert_id=alert.id, address=address)],
                )
            ),
            "admin_url": absolute_url(reverse("admin:sentiment_alert_change", args=[alert.id])),
        }
        for alert in alerts
    ]
    topics = ", ".join(alert.topic.name for alert in alerts)
    reminder = kind == EmailOutbox.Kind.REMINDER
    headline = SUBJECTS[kind] + (f" (reminder {sequence})" if reminder else "")
    context = {
        "rule": rule,
        "items": items,
        "kind": kind,
        "reminder": sequence if reminder else 0,
        "severity": rule.get_severity_display(),
        "address": address,
    }
    template = "resolved" if kind == EmailOutbox.Kind.RESOLVED else "fired"
    return {
        "subject": f"[{rule.get_severity_display()}] {headline}: {topics} ({rule.name})"[:300],
        "body_text": render_to_string(f"sentiment/email/alert_{template}.txt", context),
        "body_html": render_to_string(f"sentiment/email/alert_{template}.html", context),
    }


def emails_queue(*, rule: AlertRule, alerts: Sequence[Alert], kind: str, sequence: int = 0) -> int:
    """One outbox row per subscriber for these alerts; call inside the alert's transaction."""
    if not alerts:
        return 0
    rows = []
    for address, their_alerts in recipients_for(rule=rule, alerts=alerts).items():
        anchor = their_alerts[0]
        rows.append(
            EmailOutbox(
                alert=anchor,
                kind=kind,
                sequence=sequence,
                to_address=address,
                message_id=message_id_for(
                    alert=anchor, kind=kind, address=address, sequence=sequence
                ),
                **email_render(
                    rule=rule, alerts=their_alerts, kind=kind, address=address, sequence=sequence
                ),
            )
        )
    # ignore_conflicts: a row that exists for (alert, kind, sequence, address) is that email.
    EmailOutbox.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)

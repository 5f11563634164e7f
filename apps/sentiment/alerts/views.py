"""Pages of the alerts part: the acknowledge link from emails, the demo mailbox (staff)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.admin.views.decorators import staff_member_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_http_methods

from apps.sentiment.alerts.acknowledge import (
    AcknowledgeLinkInvalid,
    acknowledge_link_read,
    alert_acknowledge,
)
from apps.sentiment.mailbox import mailbox_message, mailbox_messages
from apps.sentiment.models import Alert


@require_http_methods(["GET", "POST"])
def alert_acknowledge_page(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks to confirm (mail scanners prefetch links); POST records who and when."""
    try:
        link = acknowledge_link_read(token)
    except AcknowledgeLinkInvalid as exc:
        return render(
            request, "sentiment/alerts/acknowledge_invalid.html", {"error": exc}, status=400
        )
    alert = Alert.objects.select_related("topic", "rule").filter(pk=link.alert_id).first()
    if alert is None:
        raise Http404("This alert no longer exists.")
    newly = False
    if request.method == "POST":
        by = request.user.get_username() if request.user.is_authenticated else link.address
        alert, newly = alert_acknowledge(alert_id=alert.id, by=by, now=timezone.now())
    return render(
        request,
        "sentiment/alerts/acknowledge.html",
        {"alert": alert, "link": link, "newly": newly},
    )


@require_GET
@staff_member_required
def mailbox_list(request: HttpRequest) -> HttpResponse:
    mails = mailbox_messages(settings.SENTIMENT_MAILBOX_DIR)
    return render(
        request,
        "sentiment/mailbox/list.html",
        {"mails": mails, "mailbox_dir": settings.SENTIMENT_MAILBOX_DIR},
    )


@require_GET
@staff_member_required
def mailbox_detail(request: HttpRequest, key: str) -> HttpResponse:
    mail = mailbox_message(settings.SENTIMENT_MAILBOX_DIR, key)
    if mail is None:
        raise Http404("No such message in the mailbox.")
    return render(request, "sentiment/mailbox/detail.html", {"mail": mail})


@require_GET
@staff_member_required
@xframe_options_sameorigin
def mailbox_html(request: HttpRequest, key: str) -> HttpResponse:
    """The message's HTML part, for the detail page's sandboxed iframe (no scripts run)."""
    mail = mailbox_message(settings.SENTIMENT_MAILBOX_DIR, key)
    if mail is None or not mail.html:
        raise Http404("No HTML part.")
    response = HttpResponse(mail.html, content_type="text/html; charset=utf-8")
    response["Content-Security-Policy"] = "sandbox allow-popups allow-popups-to-escape-sandbox"
    return response

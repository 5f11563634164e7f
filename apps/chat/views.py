"""Chat pages: the demo host page that embeds the widget, and the staff agent console.

The widget itself is a static file (static/chat/widget.js) so any site can embed it with one
script tag; everything live goes over the websockets in apps.chat.consumers.
"""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.views.decorators.http import require_GET

from apps.chat.models import AgentProfile
from apps.chat.protocol import chat_setting


def _server_url(request: HttpRequest) -> str:
    """This server's origin as the browser reached it (scheme + host, no trailing slash)."""
    return request.build_absolute_uri("/").rstrip("/")


@require_GET
def demo(request: HttpRequest) -> HttpResponse:
    """A small company site that embeds the widget exactly as a customer's site would."""
    context = {
        "server_url": _server_url(request),
        # Absolute, as a customer's site would write it (STATIC_URL may be a CDN already).
        "widget_src": request.build_absolute_uri(static("chat/widget.js")),
    }
    return render(request, "chat/demo.html", context)


@require_GET
@staff_member_required
def console(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "chat/console.html",
        {
            "max_reply_chars": chat_setting("CHAT_MAX_MESSAGE_CHARS") * 4,
            "agent_name": AgentProfile.display_name_of(request.user),
        },
    )

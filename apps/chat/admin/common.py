"""What the chat's admin pages share: the page frame, answer rendering, id lists."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import urlize
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe

OUT_OF_SCOPE_DONE = (
    "{count} question(s) marked out of scope and added to the out-of-scope examples. The next "
    "chat.intent fine-tune learns them, and the bot then offers a person for questions like them."
)

INTENT_TASK = "chat.intent"


def answer_html(text: str) -> SafeString:
    """Plain-text answer as HTML: everything escaped, http(s) URLs turned into links."""
    linked = urlize(text or "", nofollow=True, autoescape=True)  # escapes every non-URL word
    return mark_safe(linked.replace("\n", "<br>"))  # noqa: S308  (input escaped just above)


def admin_page(
    model_admin: admin.ModelAdmin, request: HttpRequest, template: str, title: str, **context: Any
) -> TemplateResponse:
    """One of our extra admin pages, with the admin's header, sidebar and breadcrumbs."""
    return TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "opts": model_admin.model._meta,
            "title": title,
            **context,
        },
    )


# --- knowledge base ----------------------------------------------------------------------------


def ids_param(ids: list[int] | QuerySet) -> str:
    return urlencode({"ids": ",".join(str(i) for i in ids)})

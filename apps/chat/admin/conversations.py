"""Conversations admin: transcripts, privacy (erase), analytics."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.chat import selectors, services
from apps.chat.admin.common import (
    admin_page,
)
from apps.chat.models import (
    Conversation,
    Message,
)


class MessageInline(admin.TabularInline):
    model = Message
    fk_name = "conversation"
    fields = ["created_at", "sender", "kind", "text", "feedback", "evidence_pretty"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="evidence")
    def evidence_pretty(self, obj: Message) -> str:
        if not obj.evidence:
            return "-"
        return format_html(
            "<details><summary>{} {}</summary><pre>{}</pre></details>",
            obj.evidence.get("decision", ""),
            obj.evidence.get("confidence", ""),
            json.dumps(obj.evidence, indent=2, sort_keys=True),
        )


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    list_display = [
        "public_id",
        "status",
        "resolution",
        "csat",
        "customer_ref",
        "assigned_agent",
        "created_at",
    ]
    list_filter = ["status", "resolution", "csat"]
    search_fields = ["customer_ref", "public_id"]
    list_select_related = ["assigned_agent"]
    date_hierarchy = "created_at"
    inlines = [MessageInline]
    readonly_fields = [
        "public_id",
        "status",
        "resolution",
        "csat",
        "customer_ref",
        "assigned_agent",
        "handoff_reason",
        "client_ip_hash",
        "created_at",
        "updated_at",
        "waiting_since",
        "closed_at",
    ]
    fields = readonly_fields
    actions = ["export_customer", "erase_customer"]
    change_list_template = "admin/chat/conversation/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a record of what was said; only the privacy actions change it

    def _one_customer(self, request: HttpRequest, queryset: QuerySet) -> str | None:
        refs = sorted(set(queryset.values_list("customer_ref", flat=True)))
        if len(refs) > 1:
            self.message_user(
                request,
                f"The selection covers {len(refs)} different customers; select conversations "
                "of one customer (search by customer ref).",
                messages.ERROR,
            )
            return None
        if not refs or not refs[0]:
            self.message_user(
                request,
                "The selected conversation has no customer reference; nothing links it to "
                "other conversations. Delete it instead.",
                messages.ERROR,
            )
            return None
        return refs[0]

    @admin.action(description="Export this customer's conversations (JSON)", permissions=["view"])
    def export_customer(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        customer_ref = self._one_customer(request, queryset)
        if customer_ref is None:
            return None
        data = services.customer_conversations_export(customer_ref=customer_ref)
        response = HttpResponse(
            json.dumps(data, indent=2, ensure_ascii=False),
            content_type="application/json; charset=utf-8",
        )
        safe_ref = "".join(c if c.isalnum() or c in "-_" else "_" for c in customer_ref)[:60]
        response["Content-Disposition"] = f'attachment; filename="conversations-{safe_ref}.json"'
        return response

    @admin.action(description="Erase this customer's conversations", permissions=["delete"])
    def erase_customer(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        customer_ref = self._one_customer(request, queryset)
        if customer_ref is None:
            return None
        if request.POST.get("post") == "yes":
            count = services.customer_conversations_erase(customer_ref=customer_ref)
            self.message_user(
                request, f"Erased {count} conversation(s) of customer {customer_ref}."
            )
            return None
        affected = Conversation.objects.filter(customer_ref=customer_ref)
        return admin_page(
            self,
            request,
            "admin/chat/conversation/erase_confirmation.html",
            "Erase a customer's conversations?",
            customer_ref=customer_ref,
            queryset=queryset,
            conversation_count=affected.count(),
            message_count=Message.objects.filter(conversation__in=affected).count(),
            action_checkbox_name=admin.helpers.ACTION_CHECKBOX_NAME,
        )

    def get_urls(self) -> list:
        return [
            path(
                "analytics/",
                self.admin_site.admin_view(self.analytics_view),
                name="chat_analytics",
            ),
            *super().get_urls(),
        ]

    def analytics_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            days = max(1, min(365, int(request.GET.get("days", 30))))
        except ValueError:
            days = 30
        stats = selectors.chat_analytics(days=days)
        return admin_page(
            self,
            request,
            "admin/chat/conversation/analytics.html",
            f"Chat analytics, last {days} days",
            stats=stats,
            chart=per_day_chart(stats["per_day"], days=days, today=timezone.localdate()),
            unanswered_url=reverse("admin:chat_unansweredquestion_changelist")
            + "?state__exact=open",
        )


CHART_WIDTH, CHART_HEIGHT, CHART_BOTTOM = 720, 180, 20


def per_day_chart(per_day: list[dict[str, Any]], *, days: int, today: date) -> dict[str, Any]:
    """Bar geometry for the inline SVG: one bar per day (zero days included), oldest left."""
    counts = {row["day"]: row["n"] for row in per_day}
    all_days = [today - timedelta(days=offset) for offset in range(days - 1, -1, -1)]
    peak = max(counts.values(), default=0) or 1
    slot = CHART_WIDTH / len(all_days)
    plot_height = CHART_HEIGHT - CHART_BOTTOM
    bars = []
    for i, day in enumerate(all_days):
        n = counts.get(day.isoformat(), 0)
        height = round(plot_height * n / peak, 1)
        bars.append(
            {
                "x": round(i * slot + slot * 0.1, 1),
                "y": round(plot_height - height, 1),
                "width": round(slot * 0.8, 1),
                "height": height,
                "day": day.isoformat(),
                "n": n,
                "label": day.strftime("%d %b") if i % max(1, len(all_days) // 6) == 0 else "",
            }
        )
    return {
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "baseline": plot_height,
        "peak": max(counts.values(), default=0),
        "bars": bars,
    }

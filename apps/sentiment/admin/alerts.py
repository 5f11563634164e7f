"""Admin: alert rules, subscriptions, fired alerts (evidence, acknowledgement), email outbox."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from apps.sentiment.alerts import alert_acknowledge, outbox_retry
from apps.sentiment.models import Alert, AlertRule, EmailOutbox, Subscription


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "topic",
        "window_minutes",
        "min_articles",
        "negative_share_threshold",
        "surge_factor",
        "severity",
        "cooldown_minutes",
        "active",
    )
    list_filter = ("active", "severity", "window_minutes")
    list_editable = ("active",)
    search_fields = ("name", "topic__name")
    raw_id_fields = ("topic",)


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = ("__str__", "user", "email", "topic_names", "min_severity", "active")
    list_filter = ("active", "min_severity")
    search_fields = ("email", "user__username", "user__email")
    filter_horizontal = ("topics",)
    raw_id_fields = ("user",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("user").prefetch_related("topics")

    @admin.display(description="topics")
    def topic_names(self, obj: Subscription) -> str:
        return ", ".join(topic.name for topic in obj.topics.all()) or "every topic"


class EmailOutboxInline(admin.TabularInline):
    model = EmailOutbox
    fields = ("kind", "to_address", "status", "attempts", "sent_at", "last_error")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Alert | None = None) -> bool:
        return False


FIGURES = (
    ("articles", "articles in the window"),
    ("negatives", "negative articles"),
    ("negative_share", "negative share"),
    ("baseline_negatives_per_window", "usual negatives per window"),
    ("baseline_articles_per_window", "usual articles per window"),
    ("baseline_negative_share", "usual negative share"),
    ("expected_negatives", "expected negatives"),
    ("surge_ratio", "negatives / expected"),
    ("p_value", "Poisson p-value"),
)


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = (
        "topic",
        "rule",
        "state",
        "severity",
        "fired_at",
        "resolved_at",
        "acknowledged_by",
        "negatives_summary",
    )
    list_filter = ("state", "severity", "rule", ("acknowledged_at", admin.EmptyFieldListFilter))
    search_fields = ("topic__name", "rule__name", "acknowledged_by")
    date_hierarchy = "fired_at"
    exclude = ("evidence",)
    readonly_fields = (
        "rule",
        "topic",
        "state",
        "severity",
        "window_start",
        "window_end",
        "fired_at",
        "resolved_at",
        "acknowledged_at",
        "acknowledged_by",
        "evidence_figures",
        "evidence_headlines",
    )
    inlines = (EmailOutboxInline,)
    actions = ("acknowledge",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).select_related("topic", "rule")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # alerts come from the detector, with evidence

    @admin.display(description="negative / articles")
    def negatives_summary(self, obj: Alert) -> str:
        return f"{obj.evidence.get('negatives', '?')} / {obj.evidence.get('articles', '?')}"

    @admin.display(description="window figures")
    def evidence_figures(self, obj: Alert) -> SafeString:
        rows = [(label, obj.evidence[key]) for key, label in FIGURES if key in obj.evidence]
        resolved = obj.evidence.get("resolved") or {}
        if resolved:
            rows.append(
                (
                    "at resolution",
                    f"{resolved.get('negatives')} negative of {resolved.get('articles')}",
                )
            )
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows),
        )

    @admin.display(description="most negative headlines")
    def evidence_headlines(self, obj: Alert) -> SafeString:
        headlines = obj.evidence.get("headlines") or []
        if not headlines:
            return format_html("<p>{}</p>", "none kept")
        return format_html(
            "<ol>{}</ol>",
            format_html_join(
                "",
                '<li><a href="{}" rel="noopener noreferrer">{}</a> {} {}</li>',
                (
                    (
                        h.get("url") or "#",
                        h.get("title", ""),
                        h.get("source") or "",
                        f"p(negative)={h['p_negative']}" if h.get("p_negative") is not None else "",
                    )
                    for h in headlines
                ),
            ),
        )

    @admin.action(description="Acknowledge selected alerts (stops reminders)")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = 0
        for alert_id in queryset.values_list("id", flat=True):
            _, newly = alert_acknowledge(
                alert_id=alert_id, by=request.user.get_username(), now=timezone.now()
            )
            count += newly
        self.message_user(request, f"{count} alert(s) acknowledged.", messages.SUCCESS)


@admin.register(EmailOutbox)
class EmailOutboxAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "to_address",
        "kind",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "short_error",
        "created_at",
    )
    list_filter = ("status", "kind")
    search_fields = ("to_address", "subject", "message_id")
    readonly_fields = (
        "alert",
        "kind",
        "to_address",
        "subject",
        "message_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_error",
        "created_at",
        "sent_at",
        "body_text",
    )
    exclude = ("body_html",)
    actions = ("retry",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="last error")
    def short_error(self, obj: EmailOutbox) -> str:
        return obj.last_error[:80]

    @admin.action(description="Retry selected emails now", permissions=["change"])
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = outbox_retry(ids=list(queryset.values_list("id", flat=True)))
        self.message_user(
            request, f"{count} email(s) queued again; the next flush sends them.", messages.SUCCESS
        )

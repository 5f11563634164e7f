"""Admin: analysts' labels, with disagreements with the model visible and filterable."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.sentiment.models import ArticleLabel


class DisagreementFilter(admin.SimpleListFilter):
    title = "analyst vs model"
    parameter_name = "agreement"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [("disagree", "disagrees with the model"), ("agree", "agrees with the model")]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        differs = ~Q(model_label="") & ~Q(model_label=F("label"))
        if self.value() == "disagree":
            return queryset.filter(differs)
        if self.value() == "agree":
            return queryset.exclude(differs)
        return queryset


@admin.register(ArticleLabel)
class ArticleLabelAdmin(admin.ModelAdmin):
    list_display = [
        "headline",
        "label",
        "model_label",
        "disagrees",
        "held_out",
        "labelled_by",
        "labelled_at",
    ]
    list_filter = [DisagreementFilter, "label", "model_label", "held_out"]
    search_fields = ["article__title"]
    list_select_related = ["article", "labelled_by"]
    raw_id_fields = ["article"]
    readonly_fields = ["model_label", "labelled_by", "labelled_at"]
    actions = ["hold_out", "use_for_training"]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):  # noqa: ANN201
        extra_context = {**(extra_context or {}), "title": "Analyst labels"}
        return super().changelist_view(request, extra_context)

    @admin.display(description="headline", ordering="article__title")
    def headline(self, obj: ArticleLabel) -> str:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:sentiment_articlelabel_change", args=[obj.id]),
            obj.article.title[:120],
        )

    @admin.display(description="disagrees", boolean=True)
    def disagrees(self, obj: ArticleLabel) -> bool | None:
        if not obj.model_label:
            return None
        return obj.model_label != obj.label

    def save_model(self, request: HttpRequest, obj: ArticleLabel, form, change: bool) -> None:  # noqa: ANN001
        if not change and not obj.model_label:
            obj.model_label = obj.article.sentiment  # what the model said when labelled
        obj.labelled_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Hold out (compare versions on these, never train on them)")
    def hold_out(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.update(held_out=True)
        self.message_user(request, f"{count} label(s) held out.", messages.SUCCESS)

    @admin.action(description="Use for training (no longer held out)")
    def use_for_training(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = queryset.update(held_out=False)
        self.message_user(
            request, f"{count} label(s) will train the next version.", messages.SUCCESS
        )

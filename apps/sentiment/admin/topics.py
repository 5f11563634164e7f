"""Admin: topics (terms as comma-separated fields, match counts and reasons) and the
`sentiment.headline` versions page (train a new version, compare on held-out labels, promote).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from apps.sentiment.models import Topic, TopicMatch
from apps.sentiment.understanding.comparison import versions_compare
from apps.sentiment.understanding.matching import topic_terms_clean
from apps.sentiment.understanding.services import sentiment_version_train_queue
from apps.sentiment.understanding.training import HEADLINE_TASK
from ml.errors import ServiceError
from ml.registry.models import ModelVersion
from ml.registry.services import model_version_promote

TERM_FIELDS = ("aliases", "tickers", "keywords")
PREVIEW_MATCHES = 20


class TopicForm(forms.ModelForm):
    """Aliases, tickers and keywords typed as comma-separated text, cleaned into lists."""

    aliases = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="Comma-separated names, matched as whole words in any case (Ford, Ford Motor)",
    )
    tickers = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"size": 40}),
        help_text="Comma-separated symbols: matched in upper case as whole words, or as $SYM",
    )
    keywords = forms.CharField(
        required=False,
        widget=forms.TextInput(attrs={"size": 80}),
        help_text="Comma-separated theme words, matched as whole words in any case",
    )

    class Meta:
        model = Topic
        fields = [
            "name",
            "slug",
            "kind",
            "aliases",
            "tickers",
            "keywords",
            "description",
            "similarity_threshold",
            "active",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in TERM_FIELDS:
            value = self.initial.get(name)
            if isinstance(value, list):
                self.initial[name] = ", ".join(value)

    def _terms(self, name: str) -> list[str]:
        return topic_terms_clean(self.cleaned_data.get(name) or "", kind=name)

    def clean_aliases(self) -> list[str]:
        return self._terms("aliases")

    def clean_tickers(self) -> list[str]:
        return self._terms("tickers")

    def clean_keywords(self) -> list[str]:
        return self._terms("keywords")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        has_terms = any(data.get(name) for name in TERM_FIELDS)
        if not has_terms and not (data.get("description") or "").strip() and not self.errors:
            raise forms.ValidationError(
                "Give at least one alias, ticker or keyword, or a description: "
                "otherwise no article can match this topic."
            )
        return data


def _reason(match: TopicMatch) -> str:
    if match.method == TopicMatch.Method.EMBEDDING:
        return f"similar to the description ({match.score:.2f})"
    return f"{match.method} “{match.matched_text}”"


@admin.register(Topic)
class TopicAdmin(admin.ModelAdmin):
    form = TopicForm
    list_display = ("name", "kind", "terms", "match_count", "active", "updated_at")
    list_filter = ("kind", "active")
    search_fields = ("name", "slug", "description")
    prepopulated_fields = {"slug": ("name",)}
    readonly_fields = ("recent_matches",)
    change_list_template = "admin/sentiment/topic/change_list.html"
    fieldsets = (
        (None, {"fields": ("name", "slug", "kind", "active")}),
        ("Matched by words", {"fields": TERM_FIELDS}),
        ("Matched by meaning", {"fields": ("description", "similarity_threshold")}),
        ("Recent matches", {"fields": ("recent_matches",)}),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Topic]:
        return super().get_queryset(request).annotate(_match_count=Count("matches"))

    @admin.display(description="Terms")
    def terms(self, topic: Topic) -> str:
        parts = [*topic.aliases, *(f"${t}" for t in topic.tickers), *topic.keywords]
        text = ", ".join(parts)
        return text if len(text) <= 80 else f"{text[:77]}..."

    @admin.display(description="Matches", ordering="_match_count")
    def match_count(self, topic: Topic) -> int:
        return topic._match_count  # type: ignore[attr-defined]

    @admin.display(description=f"Latest {PREVIEW_MATCHES} matches and why")
    def recent_matches(self, topic: Topic) -> str:
        if topic.pk is None:
            return "Matches appear once the topic is saved (the recent days are matched then)."
        matches = list(
            TopicMatch.objects.filter(topic=topic)
            .select_related("article")
            .order_by("-published_at", "-id")[:PREVIEW_MATCHES]
        )
        if not matches:
            return "No matching article yet."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    match.published_at.strftime("%Y-%m-%d %H:%M"),
                    match.article.title,
                    _reason(match),
                    match.article.sentiment or "unscored",
                )
                for match in matches
            ),
        )
        return format_html(
            '<table class="sentiment-matches"><thead><tr><th>Published</th><th>Headline</th>'
            "<th>Why</th><th>Sentiment</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def save_model(self, request: HttpRequest, obj: Topic, form: forms.Form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        messages.info(
            request,
            f"Matches of “{obj.name}” over the recent days are being refreshed in the background.",
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> Any:
        extra = {"sentiment_models_url": reverse("admin:sentiment_model_versions")}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    # --- the headline model's versions ---------------------------------------------------------

    def get_urls(self) -> list:
        return [
            path(
                "sentiment-models/",
                self.admin_site.admin_view(self.model_versions_view),
                name="sentiment_model_versions",
            ),
            *super().get_urls(),
        ]

    def model_versions_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm("registry.view_modelversion"):
            raise PermissionDenied
        if request.method == "POST":
            return self._model_versions_post(request)
        comparison = versions_compare()
        return TemplateResponse(
            request,
            "admin/sentiment/topic/model_versions.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"Sentiment model versions ({HEADLINE_TASK})",
                "comparison": comparison,
                "in_progress": ModelVersion.objects.filter(
                    task=HEADLINE_TASK,
                    status__in=[ModelVersion.Status.QUEUED, ModelVersion.Status.TRAINING],
                ).order_by("-version"),
                "can_train": request.user.has_perm("registry.add_modelversion"),
                "can_promote": request.user.has_perm("registry.change_modelversion"),
            },
        )

    def _model_versions_post(self, request: HttpRequest) -> HttpResponse:
        action = request.POST.get("action")
        here = reverse("admin:sentiment_model_versions")
        if action == "train":
            if not request.user.has_perm("registry.add_modelversion"):
                raise PermissionDenied
            try:
                version = sentiment_version_train_queue(created_by=request.user)
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request,
                    f"{version} queued ({version.notes}); it appears here when it is ready.",
                )
            return HttpResponseRedirect(here)
        if action == "promote":
            if not request.user.has_perm("registry.change_modelversion"):
                raise PermissionDenied
            version_id = request.POST.get("version_id", "")
            version = get_object_or_404(
                ModelVersion, task=HEADLINE_TASK, id=int(version_id) if version_id.isdigit() else 0
            )
            try:
                model_version_promote(version=version, actor=request.user)
            except ServiceError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(
                    request, f"{version} is in production; recent articles are being re-scored."
                )
            return HttpResponseRedirect(here)
        messages.error(request, f"Unknown action {action!r}: use train or promote.")
        return HttpResponseRedirect(here)

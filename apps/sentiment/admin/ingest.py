"""Admin: feed sources with their polling status, push clients and their keys, articles."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.text import Truncator

from apps.sentiment.models import Article, FeedSource, IngestClient
from apps.sentiment.tasks.ingest import poll_feed


@admin.register(FeedSource)
class FeedSourceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "url",
        "active",
        "poll_interval_s",
        "status",
        "last_success_at",
        "last_error_short",
        "consecutive_failures",
        "next_poll_at",
        "articles_added",
    ]
    list_filter = ["active", "language"]
    search_fields = ["name", "url"]
    readonly_fields = [
        "status",
        "last_polled_at",
        "last_success_at",
        "last_error",
        "last_error_at",
        "consecutive_failures",
        "articles_added",
        "etag",
        "last_modified",
        "created_at",
    ]
    fields = ["name", "url", "active", "poll_interval_s", "language", "next_poll_at"] + (
        readonly_fields
    )
    actions = ["poll_now"]

    @admin.display(description="status")
    def status(self, obj: FeedSource) -> str:
        if not obj.active:
            return "paused"
        if obj.last_polled_at is None:
            return "not polled yet"
        if obj.consecutive_failures:
            return f"failing ({obj.consecutive_failures} in a row)"
        return "ok"

    @admin.display(description="last error", ordering="last_error_at")
    def last_error_short(self, obj: FeedSource) -> str:
        return Truncator(obj.last_error).chars(80)

    @admin.action(description="Poll now")
    def poll_now(self, request: HttpRequest, queryset: QuerySet[FeedSource]) -> None:
        source_ids = list(queryset.values_list("id", flat=True))
        for source_id in source_ids:
            poll_feed.delay(source_id)
        self.message_user(
            request,
            f"Queued a poll of {len(source_ids)} feed(s); reload this page to see the outcome.",
        )


@admin.register(IngestClient)
class IngestClientAdmin(admin.ModelAdmin):
    """Keys are made here and shown once; only their hash is stored."""

    list_display = ["name", "key_prefix", "active", "article_count", "created_at", "last_used_at"]
    list_filter = ["active"]
    search_fields = ["name", "key_prefix"]
    readonly_fields = ["key_prefix", "created_at", "last_used_at"]
    actions = ["rotate_keys"]
    key_template = "admin/sentiment/ingestclient/keys_once.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[IngestClient]:
        return super().get_queryset(request).annotate(article_total=Count("articles"))

    def get_fields(self, request: HttpRequest, obj: IngestClient | None = None) -> list[str]:
        if obj is None:
            return ["name", "active"]
        return ["name", "active", "key_prefix", "created_at", "last_used_at"]

    @admin.display(description="articles", ordering="article_total")
    def article_count(self, obj: IngestClient) -> int:
        return obj.article_total

    def save_model(
        self, request: HttpRequest, obj: IngestClient, form: ModelForm, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        created, key = IngestClient.create_with_key(name=obj.name, active=obj.active)
        obj.pk = created.pk
        obj.refresh_from_db()
        request.ingest_client_new_keys = [(obj, key)]  # shown by response_add, never stored

    def response_add(
        self, request: HttpRequest, obj: IngestClient, post_url_continue: str | None = None
    ) -> HttpResponse:
        return self._keys_page(
            request, getattr(request, "ingest_client_new_keys", []), "New client key"
        )

    @admin.action(description="Rotate key (the old key stops working at once)")
    def rotate_keys(self, request: HttpRequest, queryset: QuerySet[IngestClient]) -> HttpResponse:
        keys = [(client, client.rotate_key()) for client in queryset]
        return self._keys_page(request, keys, "New keys")

    def _keys_page(
        self, request: HttpRequest, keys: list[tuple[IngestClient, str]], title: str
    ) -> HttpResponse:
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": title,
            "keys": keys,
        }
        response = TemplateResponse(request, self.key_template, context)
        response["Cache-Control"] = "no-store"  # the key must not linger in any cache
        return response


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    """Read-mostly: articles come from feeds, the API and imports, never from this form."""

    list_display = [
        "title",
        "source_name",
        "source",
        "client",
        "sentiment",
        "confidence",
        "language",
        "published_at",
        "fetched_at",
    ]
    list_filter = ["sentiment", "source", "client", "language"]
    list_select_related = ["source", "client"]
    search_fields = ["title", "url", "external_id", "source_name"]
    date_hierarchy = "published_at"
    show_full_result_count = False  # a COUNT(*) over every article on each page is slow

    def get_readonly_fields(self, request: HttpRequest, obj: Article | None = None) -> list[str]:
        return [f.name for f in Article._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

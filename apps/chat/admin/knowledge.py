"""Knowledge base admin: entries and phrasings, import/export, preview, index status."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.views.decorators.http import require_POST

from apps.chat import services
from apps.chat.admin.common import (
    INTENT_TASK,
    admin_page,
    answer_html,
)
from apps.chat.forms import (
    AskTheBotForm,
    KbImportForm,
    KnowledgeEntryForm,
)
from apps.chat.kb_index import KB_INDEX
from apps.chat.models import (
    EntryPhrasing,
    KnowledgeEntry,
)
from ml.errors import ServiceError
from ml.registry import indexes


class EntryPhrasingInline(admin.TabularInline):
    model = EntryPhrasing
    fields = ["text", "source", "created_at"]
    readonly_fields = ["created_at"]
    extra = 1


@admin.register(KnowledgeEntry)
class KnowledgeEntryAdmin(admin.ModelAdmin):
    form = KnowledgeEntryForm
    inlines = [EntryPhrasingInline]
    list_display = ["title", "intent", "active", "phrasing_count", "language", "updated_at"]
    list_filter = ["active", "language"]
    search_fields = ["title", "intent", "answer", "phrasings__text"]
    readonly_fields = ["answer_preview", "created_at", "updated_at"]
    fields = [
        "title",
        "intent",
        "answer",
        "answer_preview",
        "tags",
        "language",
        "active",
        "created_at",
        "updated_at",
    ]
    actions = ["activate", "deactivate", "rebuild_index", "fine_tune_intent"]
    change_list_template = "admin/chat/knowledgeentry/change_list.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(phrasing_total=Count("phrasings"))

    @admin.display(description="phrasings", ordering="phrasing_total")
    def phrasing_count(self, obj: KnowledgeEntry) -> int:
        return obj.phrasing_total

    @admin.display(description="answer as customers see it")
    def answer_preview(self, obj: KnowledgeEntry) -> SafeString:
        return answer_html(obj.answer)

    # --- actions ------------------------------------------------------------------------

    def _set_active(self, request: HttpRequest, queryset: QuerySet, active: bool) -> None:
        changed = services.entries_active_set(entries=queryset, active=active)
        state = "active" if active else "inactive"
        self.message_user(request, f"{changed} entr{'y' if changed == 1 else 'ies'} now {state}.")

    @admin.action(description="Activate selected entries", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_active(request, queryset, True)

    @admin.action(description="Deactivate selected entries", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_active(request, queryset, False)

    @admin.action(description="Rebuild the search index", permissions=["change"])
    def rebuild_index(self, request: HttpRequest, queryset: QuerySet | None = None) -> None:
        transaction.on_commit(lambda: indexes.index_rebuild_queue(name=KB_INDEX))
        self.message_user(
            request,
            "Index rebuild queued; answers use the new index within seconds of it finishing.",
        )

    @admin.action(description="Fine-tune the intent classifier now", permissions=["change"])
    def fine_tune_intent(self, request: HttpRequest, queryset: QuerySet | None = None) -> None:
        from ml.registry import services as registry_services

        if not request.user.has_perm("registry.add_modelversion"):
            self.message_user(request, "You may not queue model training.", messages.ERROR)
            return
        try:
            version = registry_services.model_version_queue(
                task=INTENT_TASK, created_by=request.user
            )
        except ServiceError as exc:
            self.message_user(request, f"Fine-tune not queued: {exc.message}", messages.ERROR)
            return
        url = reverse("admin:registry_modelversion_change", args=[version.id])
        self.message_user(
            request,
            format_html(
                '<a href="{}">{}</a> queued; promote it in the registry when its metrics look '
                "right.",
                url,
                version,
            ),
        )

    # --- extra pages --------------------------------------------------------------------

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):  # noqa: ANN201
        can_queue = self.has_change_permission(request)
        return super().changelist_view(
            request,
            {
                **(extra_context or {}),
                "can_rebuild_index": can_queue,
                "index_status": indexes.index_status(name=KB_INDEX),
                "can_fine_tune": can_queue and request.user.has_perm("registry.add_modelversion"),
            },
        )

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="chat_knowledgeentry_import"),
            path(
                "export.<str:file_format>",
                view(self.export_view),
                name="chat_knowledgeentry_export",
            ),
            path("ask/", view(self.ask_view), name="chat_knowledgeentry_ask"),
            path(
                "rebuild-index/",
                view(require_POST(self.rebuild_index_view)),
                name="chat_knowledgeentry_rebuild_index",
            ),
            path(
                "fine-tune/",
                view(require_POST(self.fine_tune_view)),
                name="chat_knowledgeentry_fine_tune",
            ),
            *super().get_urls(),
        ]

    def _changelist_url(self) -> str:
        return reverse("admin:chat_knowledgeentry_changelist")

    def rebuild_index_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        self.rebuild_index(request)
        return HttpResponseRedirect(self._changelist_url())

    def fine_tune_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        self.fine_tune_intent(request)
        return HttpResponseRedirect(self._changelist_url())

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        result = None
        form = KbImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                file_format = form.cleaned_data["file_format"] or services.kb_import_format_guess(
                    upload.name
                )
                result = services.kb_import(content=upload.read(), file_format=file_format)
            except services.KbImportError as exc:
                form.add_error("file", exc.message)
            else:
                level = messages.WARNING if result.errors else messages.SUCCESS
                self.message_user(
                    request,
                    f"Imported {result.imported} of {result.rows} rows ({result.created} new, "
                    f"{result.updated} updated, {result.phrasings_added} phrasings added, "
                    f"{result.out_of_scope_added} out-of-scope examples added); "
                    f"{result.failed_rows} rows with errors were skipped.",
                    level,
                )
        return admin_page(
            self,
            request,
            "admin/chat/knowledgeentry/import.html",
            "Import knowledge entries",
            form=form,
            result=result,
        )

    def export_view(self, request: HttpRequest, file_format: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        if file_format not in ("csv", "json"):
            raise PermissionDenied("unknown export format")
        content_type = "text/csv" if file_format == "csv" else "application/json"
        response = HttpResponse(
            services.kb_export(file_format=file_format),
            content_type=f"{content_type}; charset=utf-8",
        )
        stamp = timezone.now().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = (
            f'attachment; filename="knowledge-base-{stamp}.{file_format}"'
        )
        return response

    def ask_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = AskTheBotForm(request.GET or None)
        preview = None
        if form.is_bound and form.is_valid():
            preview = self._preview(form.cleaned_data["question"])
        return admin_page(
            self,
            request,
            "admin/chat/knowledgeentry/ask.html",
            "Ask the bot",
            form=form,
            preview=preview,
        )

    def _preview(self, question: str) -> dict[str, Any]:
        from apps.chat.services.conversations import (
            HANDOFF_OFFER_TEXT,
            HANDOFF_QUEUED_TEXT,
            SUGGESTIONS_TEXT,
        )

        result = services.answer_question(question)
        decision, entries, evidence = result.decision, result.entries, result.evidence()
        ranked = [
            {
                "rank": rank,
                "entry": entries.get(r.entry_id),
                "entry_id": r.entry_id,
                "title": "",
                "score": r.score,
                "retrieval_score": r.retrieval_score,
                "intent_probability": r.intent_probability,
            }
            for rank, r in enumerate(decision.ranked, start=1)
        ]
        suggestions: list[KnowledgeEntry] = []
        if result.handoff_requested:
            reply = answer_html(HANDOFF_QUEUED_TEXT)
        elif decision.action == "answer":
            reply = answer_html(entries[decision.ranked[0].entry_id].answer)
        elif decision.action == "suggest":
            reply = answer_html(SUGGESTIONS_TEXT)
            suggestions = [
                entries[r.entry_id] for r in decision.ranked[:3] if r.entry_id in entries
            ]
        else:
            reply = answer_html(HANDOFF_OFFER_TEXT)
        return {
            "question": question,
            "decision": result.action,
            "handoff_request": evidence["handoff_request"],
            "confidence": decision.confidence,
            "thresholds": result.thresholds.thresholds,
            "thresholds_source": result.thresholds.source,
            "ranked": ranked,
            "intent": result.scored.top_intent,
            "intent_confidence": result.scored.top_intent_probability,
            "out_of_scope_probability": evidence["out_of_scope_probability"],
            "model_versions": evidence["model_versions"],
            "latency_ms": result.latency_ms,
            "reply": reply,
            "suggestions": suggestions,
            "evidence_json": json.dumps(evidence, indent=2, sort_keys=True),
        }


# --- learning loop -----------------------------------------------------------------------------

"""Chat admin: the knowledge base, the learning loop, conversations, privacy, analytics.

Edges only: every write goes through `apps.chat.services` (or a model save whose signals
update the index), every number on the analytics page comes from `selectors.chat_analytics`.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, urlize
from django.utils.http import urlencode
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from apps.chat import selectors, services
from apps.chat.forms import (
    AskTheBotForm,
    KbImportForm,
    KnowledgeEntryForm,
    QuestionIdsForm,
    UnansweredAttachForm,
    UnansweredEntryForm,
)
from apps.chat.models import (
    Conversation,
    EntryPhrasing,
    KnowledgeEntry,
    Message,
    OutOfScopeExample,
    UnansweredQuestion,
)
from ml.errors import ServiceError

OUT_OF_SCOPE_DONE = (
    "{count} question(s) marked out of scope and added to the out-of-scope examples. The next "
    "chat.intent fine-tune learns them, and the bot then offers a person for questions like them."
)

INTENT_TASK = "chat.intent"


def answer_html(text: str) -> SafeString:
    """Plain-text answer as HTML: everything escaped, http(s) URLs turned into links."""
    linked = urlize(text or "", nofollow=True, autoescape=True)  # escapes every non-URL word
    return mark_safe(linked.replace("\n", "<br>"))  # noqa: S308  (input escaped just above)


def _page(
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
        # Save one by one (not queryset.update) so post_save updates the index; one atomic
        # block means one index task for the whole selection.
        changed = 0
        with transaction.atomic():
            for entry in queryset.filter(active=not active):
                entry.active = active
                entry.save(update_fields=["active", "updated_at"])
                changed += 1
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
        from apps.chat import tasks

        transaction.on_commit(tasks.rebuild_index.delay)
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
                "index_status": selectors.search_index_status(),
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
        return _page(
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
        return _page(
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
        decision, entries, evidence = result["decision"], result["entries"], result["evidence"]
        ranked = []
        for rank, row in enumerate(evidence["entries"], start=1):
            entry = entries.get(row["entry_id"])
            ranked.append({**row, "rank": rank, "entry": entry})
        suggestions: list[KnowledgeEntry] = []
        if result["handoff_requested"]:
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
            "decision": evidence["decision"],
            "handoff_request": evidence.get("handoff_request"),
            "confidence": evidence["confidence"],
            "thresholds": evidence["thresholds"],
            "ranked": ranked,
            "intent": evidence.get("intent"),
            "intent_confidence": evidence.get("intent_confidence"),
            "out_of_scope_probability": evidence.get("out_of_scope_probability"),
            "model_versions": evidence.get("model_versions", {}),
            "latency_ms": evidence.get("latency_ms"),
            "reply": reply,
            "suggestions": suggestions,
            "evidence_json": json.dumps(evidence, indent=2, sort_keys=True),
        }


# --- learning loop -----------------------------------------------------------------------------


def _ids_param(ids: list[int] | QuerySet) -> str:
    return urlencode({"ids": ",".join(str(i) for i in ids)})


@admin.register(UnansweredQuestion)
class UnansweredQuestionAdmin(admin.ModelAdmin):
    list_display = [
        "short_text",
        "reason",
        "state",
        "conversation_link",
        "resolved_entry",
        "created_at",
    ]
    list_filter = ["state", "reason"]
    search_fields = ["text"]
    list_select_related = ["message__conversation", "resolved_entry"]
    readonly_fields = [
        "text",
        "reason",
        "state",
        "conversation_link",
        "resolved_entry",
        "created_at",
    ]
    fields = readonly_fields
    actions = ["create_entry", "attach_to_entry", "mark_out_of_scope", "dismiss"]
    change_list_template = "admin/chat/unansweredquestion/change_list.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.display(description="question", ordering="text")
    def short_text(self, obj: UnansweredQuestion) -> str:
        return obj.text if len(obj.text) <= 120 else obj.text[:117] + "..."

    @admin.display(description="conversation")
    def conversation_link(self, obj: UnansweredQuestion) -> str:
        conversation = obj.message.conversation
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:chat_conversation_change", args=[conversation.id]),
            str(conversation.public_id)[:8],
        )

    # --- actions on a selection: all lead to the same pages as the grouped view -------------

    @admin.action(description="Create an entry from these", permissions=["change"])
    def create_entry(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        ids = list(queryset.order_by("created_at", "id").values_list("id", flat=True))
        url = reverse("admin:chat_unansweredquestion_create_entry")
        return HttpResponseRedirect(f"{url}?{_ids_param(ids)}")

    @admin.action(description="Attach as phrasings to an entry", permissions=["change"])
    def attach_to_entry(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        ids = list(queryset.order_by("created_at", "id").values_list("id", flat=True))
        url = reverse("admin:chat_unansweredquestion_attach")
        return HttpResponseRedirect(f"{url}?{_ids_param(ids)}")

    @admin.action(
        description="Out of scope: the next fine-tune learns to offer a person",
        permissions=["change"],
    )
    def mark_out_of_scope(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.unanswered_mark_out_of_scope(
            question_ids=list(queryset.values_list("id", flat=True))
        )
        self.message_user(request, OUT_OF_SCOPE_DONE.format(count=count))

    @admin.action(description="Dismiss", permissions=["change"])
    def dismiss(self, request: HttpRequest, queryset: QuerySet) -> None:
        count = services.unanswered_dismiss(
            question_ids=list(queryset.values_list("id", flat=True))
        )
        self.message_user(request, f"{count} question(s) dismissed.")

    # --- pages ----------------------------------------------------------------------------

    def get_urls(self) -> list:
        view = self.admin_site.admin_view
        return [
            path("grouped/", view(self.grouped_view), name="chat_unansweredquestion_grouped"),
            path(
                "create-entry/",
                view(self.create_entry_view),
                name="chat_unansweredquestion_create_entry",
            ),
            path("attach/", view(self.attach_view), name="chat_unansweredquestion_attach"),
            path(
                "dismiss/",
                view(require_POST(self.dismiss_view)),
                name="chat_unansweredquestion_dismiss",
            ),
            path(
                "out-of-scope/",
                view(require_POST(self.out_of_scope_view)),
                name="chat_unansweredquestion_out_of_scope",
            ),
            *super().get_urls(),
        ]

    def _questions(self, ids: list[int]) -> list[UnansweredQuestion]:
        return list(
            UnansweredQuestion.objects.filter(id__in=ids, state=UnansweredQuestion.State.OPEN)
            .select_related("message__conversation")
            .order_by("created_at", "id")
        )

    def _questions_from_query(self, request: HttpRequest) -> list[UnansweredQuestion]:
        ids_form = QuestionIdsForm(request.GET)
        return self._questions(ids_form.cleaned_data["ids"]) if ids_form.is_valid() else []

    def _back(self, request: HttpRequest) -> HttpResponse:
        return HttpResponseRedirect(reverse("admin:chat_unansweredquestion_grouped"))

    def grouped_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        groups = services.unanswered_groups()
        return _page(
            self,
            request,
            "admin/chat/unansweredquestion/grouped.html",
            "Open unanswered questions, grouped by meaning",
            groups=[
                {"group": g, "ids_param": _ids_param(g.question_ids), "ids": g.question_ids}
                for g in groups
            ],
            threshold=services.unanswered_group_similarity(),
            entries=KnowledgeEntry.objects.order_by("title").only("id", "title"),
            can_change=self.has_change_permission(request),
        )

    def create_entry_view(self, request: HttpRequest) -> HttpResponse:
        if not (
            self.has_change_permission(request) and request.user.has_perm("chat.add_knowledgeentry")
        ):
            raise PermissionDenied
        if request.method == "POST":
            form = UnansweredEntryForm(request.POST)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    entry = services.unanswered_entry_create(
                        question_ids=data["ids"],
                        title=data["title"],
                        answer=data["answer"],
                        phrasings=data["phrasings"],
                        intent=data["intent"],
                        tags=data["tags"],
                        language=data["language"],
                        active=data["active"],
                    )
                except ServiceError as exc:
                    form.add_error(None, exc.message)
                else:
                    self.message_user(
                        request,
                        format_html(
                            'Created <a href="{}">{}</a> from {} question(s); they are resolved.',
                            reverse("admin:chat_knowledgeentry_change", args=[entry.id]),
                            entry.title,
                            len(data["ids"]),
                        ),
                    )
                    return self._back(request)
            ids = form.cleaned_data.get("ids") or []
        else:
            questions = self._questions_from_query(request)
            if not questions:
                self.message_user(request, "None of those questions is open.", messages.WARNING)
                return self._back(request)
            ids = [q.id for q in questions]
            form = UnansweredEntryForm(
                initial={
                    "ids": ",".join(str(i) for i in ids),
                    "title": questions[0].text[:300],
                    "phrasings": "\n".join(q.text for q in questions),
                    "language": "en",
                    "active": True,
                }
            )
        return _page(
            self,
            request,
            "admin/chat/unansweredquestion/create_entry.html",
            "Create an entry from unanswered questions",
            form=form,
            questions=self._questions(ids),
        )

    def attach_view(self, request: HttpRequest) -> HttpResponse:
        if not (
            self.has_change_permission(request)
            and request.user.has_perm("chat.change_knowledgeentry")
        ):
            raise PermissionDenied
        if request.method == "POST":
            form = UnansweredAttachForm(request.POST)
            if form.is_valid():
                entry = form.cleaned_data["entry"]
                try:
                    added = services.unanswered_attach(
                        question_ids=form.cleaned_data["ids"], entry=entry
                    )
                except ServiceError as exc:
                    form.add_error(None, exc.message)
                else:
                    self.message_user(
                        request,
                        format_html(
                            '{} phrasing(s) added to <a href="{}">{}</a>; the questions are '
                            "resolved and feed the next intent fine-tune.",
                            added,
                            reverse("admin:chat_knowledgeentry_change", args=[entry.id]),
                            entry.title,
                        ),
                    )
                    return self._back(request)
            ids = form.cleaned_data.get("ids") or []
        else:
            questions = self._questions_from_query(request)
            if not questions:
                self.message_user(request, "None of those questions is open.", messages.WARNING)
                return self._back(request)
            ids = [q.id for q in questions]
            initial: dict[str, Any] = {"ids": ",".join(str(i) for i in ids)}
            if request.GET.get("entry"):
                initial["entry"] = request.GET["entry"]
            form = UnansweredAttachForm(initial=initial)
        return _page(
            self,
            request,
            "admin/chat/unansweredquestion/attach.html",
            "Attach questions as phrasings",
            form=form,
            questions=self._questions(ids),
        )

    def _mark_view(self, request: HttpRequest, mark: Any, done: str) -> HttpResponse:
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = QuestionIdsForm(request.POST)
        if form.is_valid():
            count = mark(question_ids=form.cleaned_data["ids"])
            self.message_user(request, done.format(count=count))
        else:
            self.message_user(request, "No questions selected.", messages.WARNING)
        return self._back(request)

    def dismiss_view(self, request: HttpRequest) -> HttpResponse:
        return self._mark_view(
            request, services.unanswered_dismiss, "{count} question(s) dismissed."
        )

    def out_of_scope_view(self, request: HttpRequest) -> HttpResponse:
        return self._mark_view(request, services.unanswered_mark_out_of_scope, OUT_OF_SCOPE_DONE)


@admin.register(OutOfScopeExample)
class OutOfScopeExampleAdmin(admin.ModelAdmin):
    """Questions the bot should hand to a person; the next chat.intent fine-tune learns them."""

    list_display = ["text", "source", "created_at"]
    list_filter = ["source"]
    search_fields = ["text"]
    fields = ["text", "source", "created_at"]
    readonly_fields = ["source", "created_at"]


# --- conversations, privacy, analytics ---------------------------------------------------------


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
        return _page(
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
        return _page(
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

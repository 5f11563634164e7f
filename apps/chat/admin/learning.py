"""Learning-loop admin: unanswered questions (grouped, attach, new entry), out-of-scope examples."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from apps.chat import services
from apps.chat.admin.common import (
    OUT_OF_SCOPE_DONE,
    admin_page,
    ids_param,
)
from apps.chat.forms import (
    QuestionIdsForm,
    UnansweredAttachForm,
    UnansweredEntryForm,
)
from apps.chat.models import (
    KnowledgeEntry,
    OutOfScopeExample,
    UnansweredQuestion,
)
from apps.chat.scoring import unanswered_would_answer
from ml.errors import ServiceError


@admin.register(UnansweredQuestion)
class UnansweredQuestionAdmin(admin.ModelAdmin):
    list_display = [
        "short_text",
        "reason",
        "state",
        "model_prediction",
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

    @admin.display(description="latest model says", ordering="predicted_confidence")
    def model_prediction(self, obj: UnansweredQuestion) -> str:
        """Re-scored after each chat.intent promotion (apps/chat/scoring.py)."""
        if not obj.predicted_intent:
            return "-"
        return format_html(
            "{}{} ({}, v{})",
            "would answer: " if unanswered_would_answer(obj) else "",
            obj.predicted_intent,
            f"{obj.predicted_confidence or 0.0:.2f}",
            obj.predicted_version,
        )

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
        return HttpResponseRedirect(f"{url}?{ids_param(ids)}")

    @admin.action(description="Attach as phrasings to an entry", permissions=["change"])
    def attach_to_entry(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse:
        ids = list(queryset.order_by("created_at", "id").values_list("id", flat=True))
        url = reverse("admin:chat_unansweredquestion_attach")
        return HttpResponseRedirect(f"{url}?{ids_param(ids)}")

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
        return admin_page(
            self,
            request,
            "admin/chat/unansweredquestion/grouped.html",
            "Open unanswered questions, grouped by meaning",
            groups=[
                {"group": g, "ids_param": ids_param(g.question_ids), "ids": g.question_ids}
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
        return admin_page(
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
        return admin_page(
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

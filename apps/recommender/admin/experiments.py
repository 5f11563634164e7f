"""Admin: A/B experiments with their variants, start/stop, and a report page per experiment.

Edges only: state changes go through `experiments.lifecycle`, figures come from
`experiments.reports`. Variants can be edited while the experiment is a draft; once it runs,
its salt and traffic split are fixed so that every user keeps their variant.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from apps.recommender.experiments.lifecycle import (
    experiment_salt_new,
    experiment_start,
    experiment_stop,
    running_experiment_elsewhere,
    traffic_shares_problem,
)
from apps.recommender.experiments.reports import experiment_report
from apps.recommender.models import Experiment, Variant
from ml.errors import ServiceError


class VariantInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        shares = [
            form.cleaned_data["traffic_share"]
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("traffic_share") is not None
        ]
        problem = traffic_shares_problem(shares)
        if problem:
            raise forms.ValidationError(problem)


class VariantInline(admin.TabularInline):
    model = Variant
    formset = VariantInlineFormSet
    fields = ("name", "strategy", "model_version", "traffic_share")
    extra = 0
    min_num = 1
    raw_id_fields = ("model_version",)

    def _editable(self, obj: Experiment | None) -> bool:
        return obj is None or obj.status == Experiment.Status.DRAFT

    def has_add_permission(self, request: HttpRequest, obj: Experiment | None = None) -> bool:
        return self._editable(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Experiment | None = None) -> bool:
        return self._editable(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Experiment | None = None) -> bool:
        return self._editable(obj) and super().has_delete_permission(request, obj)


class ExperimentForm(forms.ModelForm):
    class Meta:
        model = Experiment
        fields = ("client", "name", "salt", "attribution_window_hours", "status")

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        if "salt" in self.fields:
            self.fields["salt"].required = False
            self.fields["salt"].help_text += "; leave empty for a random one"
            if not self.instance.pk:
                self.initial.setdefault("salt", experiment_salt_new())

    def clean(self) -> dict:
        data = super().clean()
        if "salt" in self.fields and not data.get("salt"):
            data["salt"] = experiment_salt_new()
        client = data.get("client") or getattr(self.instance, "client", None)
        if data.get("status") == Experiment.Status.RUNNING and client is not None:
            probe = Experiment(pk=self.instance.pk, client=client)
            other = running_experiment_elsewhere(probe)
            if other is not None:
                self.add_error(
                    "status",
                    f"{other.name} is already running for {client.name}; "
                    "stop it before starting another.",
                )
        return data


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ExperimentForm
    inlines = [VariantInline]
    list_display = (
        "name",
        "client",
        "status",
        "variant_count",
        "started_at",
        "stopped_at",
        "report_link",
    )
    list_filter = ("status", "client")
    search_fields = ("name",)
    actions = ("start_selected", "stop_selected")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("client")
            .annotate(n_variants=Count("variants"))
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Experiment | None = None) -> tuple:
        fields = ("started_at", "stopped_at")
        if obj is not None and obj.status != Experiment.Status.DRAFT:
            fields = ("client", "salt", *fields)
        return fields

    @admin.display(description="variants", ordering="n_variants")
    def variant_count(self, obj: Experiment) -> int:
        return obj.n_variants

    @admin.display(description="report")
    def report_link(self, obj: Experiment) -> str:
        url = reverse("admin:recommender_experiment_report", args=[obj.pk])
        return format_html('<a href="{}">report</a>', url)

    def save_model(self, request: HttpRequest, obj: Experiment, form, change: bool) -> None:  # noqa: ANN001
        """Status changes wait for the variants (save_related): starting checks their shares."""
        wanted = obj.status
        if change:
            obj.status = Experiment.objects.values_list("status", flat=True).get(pk=obj.pk)
        else:
            obj.status = Experiment.Status.DRAFT
        obj._wanted_status = wanted
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:  # noqa: ANN001
        super().save_related(request, form, formsets, change)
        experiment = form.instance
        wanted = getattr(experiment, "_wanted_status", experiment.status)
        if wanted == experiment.status:
            return
        try:
            if wanted == Experiment.Status.RUNNING:
                experiment_start(experiment=experiment)
            elif wanted == Experiment.Status.STOPPED:
                experiment_stop(experiment=experiment)
            else:
                messages.warning(request, "A started experiment cannot go back to draft.")
        except ServiceError as exc:
            messages.error(request, exc.message)

    @admin.action(description="Start selected experiments")
    def start_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for experiment in queryset:
            try:
                experiment_start(experiment=experiment)
            except ServiceError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"{experiment.name} is running.", messages.SUCCESS)

    @admin.action(description="Stop selected experiments")
    def stop_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for experiment in queryset:
            try:
                experiment_stop(experiment=experiment)
            except ServiceError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"{experiment.name} stopped.", messages.SUCCESS)

    def get_urls(self) -> list:
        return [
            path(
                "<int:experiment_id>/report/",
                self.admin_site.admin_view(self.report_view),
                name="recommender_experiment_report",
            ),
            *super().get_urls(),
        ]

    def report_view(self, request: HttpRequest, experiment_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        experiment = get_object_or_404(
            Experiment.objects.select_related("client"), pk=experiment_id
        )
        report = experiment_report(experiment=experiment)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"A/B report: {experiment.name}",
            "experiment": experiment,
            "report": report,
            "chart": report.chart_data(),
        }
        return TemplateResponse(request, "admin/recommender/experiment/report.html", context)

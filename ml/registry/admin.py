"""Admin for the registry: queue a fine-tune, watch it, promote, roll back, archive."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join, json_script

from ml.errors import ServiceError
from ml.registry import services
from ml.registry.catalog import training_task_list
from ml.registry.models import ModelStageEvent, ModelVersion, ScoringRun


class ModelVersionQueueForm(forms.ModelForm):
    """The add form: what to train. Everything else is filled in by the run."""

    hyperparameters = forms.JSONField(
        required=False,
        initial=dict,
        help_text='e.g. {"epochs": 4, "learning_rate": 5e-5, "lora": {"r": 8}}',
    )

    class Meta:
        model = ModelVersion
        fields = ["task", "task_type", "base_model", "dataset_path", "hyperparameters", "notes"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["base_model"].required = False
        self.fields["base_model"].initial = settings.ML_BASE_MODEL
        known = ", ".join(spec.name for spec in training_task_list()) or "none registered yet"
        self.fields[
            "task"
        ].help_text = f"Tasks with a built-in data set: {known}. Others need a CSV."

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        try:
            self.validated = services.training_request_validate(
                task=data.get("task", ""),
                task_type=data.get("task_type"),
                base_model=data.get("base_model"),
                dataset_path=data.get("dataset_path", ""),
                hyperparameters=data.get("hyperparameters") or {},
            )
        except ServiceError as exc:
            field = next(iter(exc.extra), None)
            if field in self.fields:
                self.add_error(field, exc.message)
            else:
                raise forms.ValidationError(exc.message) from exc
        return data


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "__str__",
        "status",
        "progress_bar",
        "stage",
        "primary_metric",
        "dataset_size",
        "device",
        "train_seconds",
        "created_at",
    ]
    list_filter = ["task", "status", "stage"]
    search_fields = ["task", "notes"]
    actions = ["promote", "rollback", "archive", "retrain", "cancel"]
    change_list_template = "admin/registry/modelversion/change_list.html"
    change_form_template = "admin/registry/modelversion/change_form.html"
    readonly_fields = [
        "task",
        "version",
        "task_type",
        "base_model",
        "hyperparameters_pretty",
        "dataset_path",
        "dataset_fingerprint",
        "dataset_size",
        "status",
        "progress_bar",
        "status_message",
        "error",
        "stage",
        "metrics_table",
        "decision_points",
        "confusion_matrix",
        "artifact_path",
        "device",
        "train_seconds",
        "celery_task_id",
        "created_by",
        "created_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
        "promoted_at",
    ]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any):  # noqa: ANN201
        if obj is None:
            kwargs["form"] = ModelVersionQueueForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return list(ModelVersionQueueForm.Meta.fields)
        return [*self.readonly_fields, "notes"]

    def save_model(self, request: HttpRequest, obj: ModelVersion, form: Any, change: bool) -> None:
        if change:
            obj.save(update_fields=["notes"])
            return
        created = services.model_version_queue(
            **form.validated, created_by=request.user, notes=form.cleaned_data.get("notes", "")
        )
        obj.pk, obj.version = created.pk, created.version
        obj._state.adding = False
        messages.info(request, f"{created} queued on the gpu queue; this page shows its progress.")

    # --- columns -------------------------------------------------------------------------

    @admin.display(description="progress")
    def progress_bar(self, obj: ModelVersion) -> str:
        percent = round(obj.progress * 100)
        return format_html(
            '<progress max="100" value="{}" title="{}"></progress> {}%<br><small>{}</small>',
            percent,
            obj.status_message,
            percent,
            obj.status_message,
        )

    @admin.display(description="macro-F1 / acc")
    def primary_metric(self, obj: ModelVersion) -> str:
        if not obj.metrics:
            return "-"
        f1, accuracy = obj.metrics.get("macro_f1"), obj.metrics.get("accuracy")
        if f1 is None or accuracy is None:
            return "-"
        return f"{f1:.3f} / {accuracy:.3f}"

    @admin.display(description="hyper-parameters")
    def hyperparameters_pretty(self, obj: ModelVersion) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.hyperparameters, indent=2, sort_keys=True)
        )

    @admin.display(description="metrics (validation split)")
    def metrics_table(self, obj: ModelVersion) -> str:
        report = (obj.metrics or {}).get("per_class") or {}
        if not report:
            return format_html("<pre>{}</pre>", json.dumps(obj.metrics, indent=2, sort_keys=True))
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    label,
                    f"{r.get('precision', 0):.3f}",
                    f"{r.get('recall', 0):.3f}",
                    f"{r.get('f1', 0):.3f}",
                    r.get("support", 0),
                )
                for label, r in report.items()
            ),
        )
        return format_html(
            "<p>accuracy {} · macro-F1 {}</p><table><tr><th>label</th><th>precision</th>"
            "<th>recall</th><th>F1</th><th>support</th></tr>{}</table>",
            f"{obj.metrics.get('accuracy', 0):.4f}",
            f"{obj.metrics.get('macro_f1', 0):.4f}",
            rows,
        )

    @admin.display(description="decision points (held-out)")
    def decision_points(self, obj: ModelVersion) -> str:
        """The answer/suggest points the model chose for the admin's targets, and their curve."""
        decision = (obj.metrics or {}).get("decision")
        if not isinstance(decision, dict) or "curve" not in decision:
            error = (obj.metrics or {}).get("decision_error")
            return f"not chosen: {error}" if error else "-"
        cv = (obj.metrics or {}).get("decision_cv") or {}
        targets = decision.get("targets") or {}

        def pct(key: str, source: dict = decision) -> str:
            value = source.get(key)
            return "-" if value is None else f"{100 * float(value):.1f} %"

        rows = [
            ("answer when confidence ≥", f"{decision['answer']:.4f}"),
            (
                "suggest the top 3 when "
                + ("their summed confidence" if decision.get("suggest_on") == "top3" else "")
                + " ≥",
                f"{decision['suggest']:.4f}",
            ),
            (
                "targets",
                f"answers right ≥ {pct('answer_precision', targets)}, unknown questions "
                f"answered ≤ {pct('max_oos_answered', targets)}, not offered a person ≤ "
                f"{pct('max_oos_kept', targets)}, right entry among suggestions ≥ "
                f"{pct('suggest_recall', targets)}"
                + ("" if decision.get("met") else " — NOT all met"),
            ),
            ("in-scope answered right", pct("answered_right")),
            ("answers wrong", pct("wrong")),
            ("in-scope suggested", pct("suggested")),
            ("suggestions holding the right entry", pct("suggested_right")),
            ("unknown questions answered", pct("oos_answered")),
            ("unknown questions offered a person", pct("oos_handoff")),
            (
                "estimated on",
                f"{cv.get('held_out', '?')} examples held out by {cv.get('folds', '?')}-fold "
                f"cross-validation ({cv.get('seconds', '?')} s), weighted "
                f"{cv.get('held_out_share', 1.0)} against the final model's own scores on them "
                "(Efron's .632 estimate)",
            ),
        ]
        table = format_html_join(
            "", '<tr><th scope="row">{}</th><td>{}</td></tr>', ((k, v) for k, v in rows)
        )
        chart = {
            "curve": decision["curve"],
            "answer": decision["answer"],
            "suggest": decision["suggest"],
        }
        return format_html(
            '<table id="decision-points">{}</table>'
            '<div style="position:relative;width:640px;height:320px">'
            '<canvas id="decision-curve" aria-label="trade-off curve" role="img"></canvas></div>'
            "{}",
            table,
            json_script(chart, "decision-curve-data"),
        )

    @admin.display(description="confusion matrix (rows: true, columns: predicted)")
    def confusion_matrix(self, obj: ModelVersion) -> str:
        matrix = (obj.metrics or {}).get("confusion_matrix")
        labels = (obj.metrics or {}).get("labels") or []
        if not matrix or len(labels) > 30:
            return "-" if not matrix else f"{len(labels)} labels: see metrics JSON"
        header = format_html_join("", "<th>{}</th>", ((label,) for label in labels))
        body = format_html_join(
            "",
            "<tr><th>{}</th>{}</tr>",
            (
                (label, format_html_join("", "<td>{}</td>", ((count,) for count in row)))
                for label, row in zip(labels, matrix, strict=False)
            ),
        )
        return format_html("<table><tr><th></th>{}</tr>{}</table>", header, body)

    # --- actions ----------------------------------------------------------------------------

    def _each(self, request: HttpRequest, queryset: QuerySet, fn: Any, done: str) -> None:
        for version in queryset:
            try:
                result = fn(version)
            except ServiceError as exc:
                self.message_user(request, f"{version}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, done.format(version=version, result=result))

    @admin.action(description="Promote to production")
    def promote(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda v: services.model_version_promote(version=v, actor=request.user),
            "{version} is now in production.",
        )

    @admin.action(description="Roll back the task to its previous production version")
    def rollback(self, request: HttpRequest, queryset: QuerySet) -> None:
        tasks = sorted({v.task for v in queryset})
        for task in tasks:
            try:
                restored = services.model_version_rollback(task=task, actor=request.user)
            except ServiceError as exc:
                self.message_user(request, f"{task}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{task}: rolled back to {restored}.")

    @admin.action(description="Archive")
    def archive(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda v: services.model_version_archive(version=v),
            "{version} archived.",
        )

    @admin.action(description="Train again with the same settings")
    def retrain(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda v: services.model_version_retrain(version=v, created_by=request.user),
            "{result} queued (from {version}).",
        )

    @admin.action(description="Cancel training")
    def cancel(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._each(
            request,
            queryset,
            lambda v: services.model_version_cancel(version=v),
            "{version} cancelled.",
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):  # noqa: ANN201
        active = ModelVersion.objects.filter(
            status__in=[ModelVersion.Status.QUEUED, ModelVersion.Status.TRAINING]
        ).exists()
        return super().changelist_view(request, {**(extra_context or {}), "auto_refresh": active})

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict | None = None,
    ):  # noqa: ANN201
        active = ModelVersion.objects.filter(
            pk=object_id, status__in=[ModelVersion.Status.QUEUED, ModelVersion.Status.TRAINING]
        ).exists()
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "auto_refresh": active}
        )


@admin.register(ModelStageEvent)
class ModelStageEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "task", "action", "from_version", "to_version", "actor"]
    list_filter = ["task", "action"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ScoringRun)
class ScoringRunAdmin(admin.ModelAdmin):
    """Re-scoring runs after promotions: read-only, with their progress."""

    list_display = ["__str__", "task", "version", "status", "progress_bar", "created_at"]
    list_filter = ["task", "status"]
    readonly_fields = [
        "task",
        "version",
        "status",
        "progress_bar",
        "total",
        "done",
        "error",
        "celery_task_id",
        "created_at",
        "started_at",
        "finished_at",
    ]
    fields = readonly_fields

    @admin.display(description="progress")
    def progress_bar(self, obj: ScoringRun) -> str:
        percent = round(obj.progress * 100)
        return format_html(
            '<progress max="100" value="{}"></progress> {} / {} ({}%)',
            percent,
            obj.done,
            obj.total,
            percent,
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

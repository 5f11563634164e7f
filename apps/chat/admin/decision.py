"""Decision-targets admin: what the bot's answer and suggest points must achieve.

One row (or none: the CHAT_TARGET_* environment values apply). The next chat.intent fine-tune
chooses its thresholds on its own held-out data to meet them; the page shows the points the
production model chose, so the admin sees what the targets turned into.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html

from apps.chat.models import DecisionTargets


@admin.register(DecisionTargets)
class DecisionTargetsAdmin(admin.ModelAdmin):
    list_display = [
        "answer_precision",
        "max_oos_answered",
        "max_oos_kept",
        "suggest_recall",
        "updated_at",
    ]
    readonly_fields = ["production_points"]
    fields = [
        "answer_precision",
        "max_oos_answered",
        "max_oos_kept",
        "suggest_recall",
        "production_points",
    ]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return super().has_add_permission(request) and not DecisionTargets.objects.exists()

    @admin.display(description="production chat.intent model")
    def production_points(self, obj: Any = None) -> str:
        from ml.registry.selectors import production_version

        version = production_version(task="chat.intent")
        decision = (version.metrics or {}).get("decision") if version is not None else None
        if not isinstance(decision, dict):
            return "no promoted model with its own decision points: the settings' thresholds apply"
        return format_html(
            "v{}: answers at confidence ≥ {}, suggests at ≥ {} (chosen for targets {}). "
            "Changed targets apply from the next training run.",
            version.version,
            f"{decision['answer']:.4f}",
            f"{decision['suggest']:.4f}",
            decision.get("targets"),
        )

"""Agent profiles: the display name customers see instead of the agent's login."""

from __future__ import annotations

from django.contrib import admin

from apps.chat.models import AgentProfile


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "display_name"]
    search_fields = ["user__username", "display_name"]
    autocomplete_fields = ["user"]

"""Push API and dashboard data endpoints."""

from __future__ import annotations

urlpatterns: list = []

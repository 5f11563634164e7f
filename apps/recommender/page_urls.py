"""The demo shop page."""

from __future__ import annotations

urlpatterns: list = []

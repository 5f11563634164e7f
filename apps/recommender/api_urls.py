"""Client API: catalogue and event ingest, recommendations."""

from __future__ import annotations

urlpatterns: list = []

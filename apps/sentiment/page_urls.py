"""Analyst pages: dashboard, labelling queue, alert acknowledgement, demo mailbox."""

from __future__ import annotations

urlpatterns: list = []

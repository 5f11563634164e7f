"""Websocket routes; each app appends its own (chat adds /ws/chat/<conversation>/)."""

from __future__ import annotations

websocket_urlpatterns: list = []

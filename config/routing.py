"""Websocket routes; each app appends its own (chat adds /ws/chat/<conversation>/)."""

from __future__ import annotations

from apps.chat.routing import websocket_urlpatterns as chat_websocket_urlpatterns

websocket_urlpatterns: list = [*chat_websocket_urlpatterns]

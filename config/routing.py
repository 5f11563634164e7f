"""Websocket routes; each app appends its own (chat adds /ws/chat/ and /ws/agent/).

The last route refuses every other path cleanly (close code 4404 before the handshake).
"""

from __future__ import annotations

from django.urls import re_path

from apps.chat.routing import websocket_urlpatterns as chat_websocket_urlpatterns
from apps.core.websocket import websocket_not_found

websocket_urlpatterns: list = [
    *chat_websocket_urlpatterns,
    re_path(r"", websocket_not_found),
]

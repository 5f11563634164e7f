"""Websocket routes of the support chat (included by config/routing.py).

No conversation id in the customer socket's URL: URLs end up in logs and proxies, and the
id alone must not open a conversation (the widget proves it with a token in `hello`).
"""

from __future__ import annotations

from django.urls import path

from apps.chat import consumers

websocket_urlpatterns = [
    path("ws/chat/", consumers.ChatConsumer.as_asgi()),
    path("ws/agent/", consumers.AgentConsumer.as_asgi()),
]

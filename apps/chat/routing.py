"""Websocket routes of the support chat (included by config/routing.py)."""

from __future__ import annotations

from django.urls import path

from apps.chat import consumers

websocket_urlpatterns = [
    path("ws/chat/<uuid:conversation>/", consumers.ChatConsumer.as_asgi()),
    path("ws/agent/", consumers.AgentConsumer.as_asgi()),
]

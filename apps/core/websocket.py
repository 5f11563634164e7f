"""Websocket origin check that follows settings at call time (hosts + widget origins)."""

from __future__ import annotations

from typing import Any

from channels.security.websocket import OriginValidator
from django.conf import settings


class SettingsOriginValidator(OriginValidator):
    """Our ALLOWED_HOSTS plus CHAT_WIDGET_ORIGINS, the sites that embed the chat widget."""

    def __init__(self, application: Any) -> None:
        super().__init__(application, [])

    @property
    def allowed_origins(self) -> list[str]:  # read per handshake: settings can change in tests
        return [*settings.ALLOWED_HOSTS, *settings.CHAT_WIDGET_ORIGINS]

    @allowed_origins.setter
    def allowed_origins(self, value: list[str]) -> None:
        """OriginValidator.__init__ assigns it; the settings are the source of truth."""

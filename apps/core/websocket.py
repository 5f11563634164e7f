"""Websocket origin check: scheme, host and port, read from settings at call time.

A browser sends `Origin: <scheme>://<host>[:<port>]` on every websocket handshake. A socket
is accepted when that origin is

* this server as the browser reached it: the same scheme as the socket (ws -> http,
  wss -> https), the same host and port as the `Host` header, and a host in ALLOWED_HOSTS
  (the `own` origin); or
* one of CHAT_WIDGET_ORIGINS, full origins of the sites that embed the chat widget
  (the `widget` origin).

Comparing the host alone let `http://127.0.0.1:9999` (another program on the same machine)
and `https://` of an `http` site through; a page on another port could then use a staff
member's session cookie on the agent socket. The kind of match goes into
`scope["origin_kind"]`, so the agent socket can accept its own origin only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host

DEFAULT_PORTS = {"http": 80, "https": 443}
SOCKET_TO_PAGE_SCHEME = {"ws": "http", "wss": "https"}


@dataclass(frozen=True)
class Origin:
    scheme: str
    host: str
    port: int


def origin_parse(value: str) -> Origin | None:
    """`https://Shop.example.com` -> Origin("https", "shop.example.com", 443); None if malformed."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    if parts.username or parts.password or parts.query or parts.fragment:
        return None
    return Origin(scheme, parts.hostname.lower(), port or DEFAULT_PORTS[scheme])


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            try:
                return value.decode("latin1")
            except UnicodeDecodeError:
                return None
    return None


def own_origin(scope: dict[str, Any]) -> Origin | None:
    """This server as the browser reached it: the socket's scheme and the Host header."""
    scheme = SOCKET_TO_PAGE_SCHEME.get(scope.get("scheme") or "ws")
    host_header = _header(scope, b"host")
    if scheme is None or not host_header:
        return None
    host, port = split_domain_port(host_header.lower())
    if not host or not validate_host(host, settings.ALLOWED_HOSTS):
        return None
    try:
        port_number = int(port) if port else DEFAULT_PORTS[scheme]
    except ValueError:
        return None
    return Origin(scheme, host.strip("[]"), port_number)


def origin_kind(scope: dict[str, Any]) -> str | None:
    """ "own", "widget", or None when the socket's Origin is not allowed."""
    raw = _header(scope, b"origin")
    origin = origin_parse(raw) if raw else None
    if origin is None:
        return None
    if origin == own_origin(scope):
        return "own"
    widget_origins = {origin_parse(o) for o in settings.CHAT_WIDGET_ORIGINS}
    if origin in widget_origins:
        return "widget"
    return None


class SettingsOriginValidator:
    """ASGI middleware: refuse a websocket handshake from an origin we do not serve."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        kind = origin_kind(scope) if scope["type"] == "websocket" else None
        if kind is None:
            return await WebsocketDenier()(scope, receive, send)
        return await self.application({**scope, "origin_kind": kind}, receive, send)


async def websocket_not_found(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """The last websocket route: refuse the handshake (4404) instead of a 500 with a traceback.

    URLRouter raises ValueError for a path no route matches, which Daphne answers with a 500.
    """
    if scope["type"] != "websocket":
        raise ValueError("websocket_not_found serves websocket scopes only")
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": 4404})

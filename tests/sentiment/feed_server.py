"""A real HTTP server on 127.0.0.1 that serves the feed files under tests/sentiment/feeds/.

It honours conditional GET the way feed hosts do (ETag from the content, Last-Modified per
route, 304 with no body), logs every request with its headers, and can be told to fail a
route (a status, or hang until the client gives up).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

FEEDS_DIR = Path(__file__).resolve().parent / "feeds"


@dataclass
class Route:
    file: str = ""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    etag: bool = True
    last_modified: str = "Fri, 12 Jun 2026 10:05:00 GMT"
    hang: bool = False  # never answer (until the server stops)


@dataclass(frozen=True)
class LoggedRequest:
    path: str
    headers: dict[str, str]
    status: int
    body_bytes: int


@dataclass
class FeedServer:
    base_url: str = ""
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[LoggedRequest] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def requests_for(self, path: str) -> list[LoggedRequest]:
        return [r for r in self.requests if r.path == path]


def _not_modified(route: Route, etag: str, headers: dict[str, str]) -> bool:
    if route.etag and "If-None-Match" in headers:
        return etag in {tag.strip() for tag in headers["If-None-Match"].split(",")}
    since = headers.get("If-Modified-Since")
    if since and route.last_modified:
        try:
            return parsedate_to_datetime(route.last_modified) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _handler(server_state: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # the test reads server_state.requests instead

        def do_GET(self) -> None:  # noqa: N802
            headers = dict(self.headers.items())
            route = server_state.routes.get(self.path)
            if route is None:
                self._answer(404, b"no such feed", "text/plain", {})
                return
            if route.hang:
                server_state.release.wait(timeout=60)
                return
            body = (FEEDS_DIR / route.file).read_bytes() if route.file else b""
            etag = f'"{hashlib.sha256(body).hexdigest()[:16]}"'
            extra = {}
            if route.etag:
                extra["ETag"] = etag
            if route.last_modified:
                extra["Last-Modified"] = route.last_modified
            if route.status == 200 and _not_modified(route, etag, headers):
                self._answer(304, b"", route.content_type, extra, headers)
                return
            self._answer(route.status, body, route.content_type, extra, headers)

        def _answer(
            self,
            status: int,
            body: bytes,
            content_type: str,
            extra: dict[str, str],
            request_headers: dict[str, str] | None = None,
        ) -> None:
            server_state.requests.append(
                LoggedRequest(self.path, request_headers or {}, status, len(body))
            )
            self.send_response(status)
            if status != 304:
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

    return Handler


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    state = FeedServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    httpd.daemon_threads = True
    state.base_url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state
    state.release.set()
    httpd.shutdown()
    httpd.server_close()

"""Browsers ask every site for /favicon.ico; it was a 404 in every server log."""

from __future__ import annotations

import struct

import pytest

pytestmark = pytest.mark.django_db


def test_favicon_is_served_at_the_site_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    body = b"".join(response.streaming_content) if response.streaming else response.content
    reserved, kind, count = struct.unpack("<HHH", body[:6])
    assert (reserved, kind) == (0, 1) and count >= 1  # an ICO header with at least one image
    sizes = {body[6 + 16 * i] for i in range(count)}
    assert 16 in sizes or 32 in sizes

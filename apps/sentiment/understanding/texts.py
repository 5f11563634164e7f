"""The text of an article that its vector is made of (no Django: bench scripts use it too)."""

from __future__ import annotations

BODY_CHARS = 2000  # the encoder reads a few hundred tokens at most; the rest is never seen


def article_text(title: str, body: str) -> str:
    return f"{title}\n{body[:BODY_CHARS]}".strip()

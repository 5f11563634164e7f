"""What the alert tests share: scored articles at chosen times, a real SMTP server (aiosmtpd)
on a free port that keeps what it gets in a Maildir, and Django's SMTP backend pointed at it.

Fixtures here are imported by the test modules that use them (`from ... import smtp_server`).
"""

from __future__ import annotations

import hashlib
import itertools
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from apps.sentiment.mailbox import mailbox_messages, mailbox_server
from apps.sentiment.models import AlertRule, Article, Sentiment, Topic, TopicMatch

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
_numbers = itertools.count(1)


def articles_add(
    topic: Topic,
    *,
    times: list[datetime],
    sentiment: str,
    title: str = "{topic} news item {n}",
    p_negative: float | None = None,
) -> list[Article]:
    """Scored articles matched to `topic`, published at `times` (bulk: histories are long)."""
    articles = []
    for when in times:
        n = next(_numbers)
        text = title.format(topic=topic.name, n=n)
        articles.append(
            Article(
                title=text,
                url=f"https://news.example.com/{topic.slug}/{n}",
                canonical_url=f"https://news.example.com/{topic.slug}/{n}",
                content_hash=hashlib.sha256(f"{text}|{n}".encode()).hexdigest(),
                source_name="Example Wire",
                published_at=when,
                sentiment=sentiment,
                p_negative=p_negative
                if p_negative is not None
                else (0.9 if sentiment == Sentiment.NEGATIVE else 0.05),
                confidence=0.9,
            )
        )
    articles = Article.objects.bulk_create(articles)
    TopicMatch.objects.bulk_create(
        TopicMatch(
            topic=topic,
            article=article,
            method=TopicMatch.Method.ALIAS,
            matched_text=topic.name,
            published_at=article.published_at,
        )
        for article in articles
    )
    return articles


def background_add(
    topic: Topic, *, until: datetime, hours: int = 24, every_minutes: int = 30
) -> None:
    """A calm past: one article every `every_minutes`, one in five negative."""
    times = [until - timedelta(minutes=m) for m in range(every_minutes, hours * 60, every_minutes)]
    negative = times[::5]
    calm = [t for t in times if t not in set(negative)]
    articles_add(topic, times=negative, sentiment=Sentiment.NEGATIVE)
    articles_add(topic, times=calm, sentiment=Sentiment.NEUTRAL)


def burst_add(topic: Topic, *, end: datetime, negatives: int = 12, minutes: int = 10) -> None:
    """A burst of negative headlines over the `minutes` before `end`, plus two neutral ones."""
    step = minutes * 60 / negatives
    times = [end - timedelta(seconds=step * (i + 0.5)) for i in range(negatives)]
    articles_add(
        topic, times=times, sentiment=Sentiment.NEGATIVE, title="{topic} faces probe, item {n}"
    )
    articles_add(
        topic,
        times=[end - timedelta(minutes=3), end - timedelta(minutes=7)],
        sentiment=Sentiment.NEUTRAL,
    )


def rule_create(topic: Topic | None = None, **fields) -> AlertRule:  # noqa: ANN003
    defaults = {
        "name": f"rule {next(_numbers)}",
        "topic": topic,
        "window_minutes": 15,
        "min_articles": 5,
        "negative_share_threshold": 0.5,
        "surge_factor": 2.0,
        "cooldown_minutes": 60,
    }
    return AlertRule.objects.create(**{**defaults, **fields})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class SmtpServer:
    """A real aiosmtpd server that can be stopped and started again on the same port."""

    def __init__(self, maildir: Path) -> None:
        self.maildir = maildir
        self.port = free_port()
        self.controller = None

    def start(self) -> None:
        self.controller = mailbox_server(host="127.0.0.1", port=self.port, path=self.maildir)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def messages(self) -> list:
        return mailbox_messages(self.maildir)


@pytest.fixture
def smtp_server(settings, tmp_path: Path) -> Iterator[SmtpServer]:  # noqa: ANN001
    """Django's SMTP backend pointed at a real local SMTP server (started)."""
    server = SmtpServer(tmp_path / "maildir")
    server.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = server.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.SENTIMENT_MAILBOX_DIR = str(server.maildir)
    yield server
    server.stop()

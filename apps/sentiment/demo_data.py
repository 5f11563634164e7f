"""The monitor's demo: topics, an alert rule and a subscriber, and a replayed news stream.

`load_demo_monitor` (the demo's data step) stores the topics, rule and subscription. The news
itself arrives while the demo runs (`manage.py sentiment_demo_replay`, started by the demo
beside web and worker, after the sentiment model is trained): first the hours of history the
database lacks, then a live stream at the same pace, and a burst of negative headlines about
one topic shortly after start-up, so an alert fires and its email reaches the demo mailbox.
Every article goes through the real ingest service, so scoring, topic matching and alerting
run exactly as for a feed.
"""

from __future__ import annotations

import heapq
import json
import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.text import slugify

from apps.sentiment.models import AlertRule, Article, Subscription, Topic
from apps.sentiment.models.alerts import Severity

logger = logging.getLogger(__name__)

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_TOPICS = DEMO_DIR / "topics.json"
DEMO_HEADLINES = DEMO_DIR / "headlines.json"
# Demo articles link here (example.com never resolves to a real site); the replay also finds
# its own earlier articles by this prefix to catch up only the history that is missing.
DEMO_URL_PREFIX = "https://news.example.com/demo/"
TOPIC_FIELDS = ("name", "kind", "aliases", "tickers", "keywords", "description")


def load_demo_monitor(path: Path = DEMO_TOPICS) -> str:
    """Create or update the demo topics, alert rules and subscriptions (idempotent)."""
    data = json.loads(path.read_text(encoding="utf-8"))
    created = 0
    with transaction.atomic():
        for spec in data["topics"]:
            _, was_created = Topic.objects.update_or_create(
                slug=spec["slug"], defaults={k: spec[k] for k in TOPIC_FIELDS}
            )
            created += was_created
        for spec in data["alert_rules"]:
            AlertRule.objects.update_or_create(
                name=spec["name"],
                defaults={
                    **{k: v for k, v in spec.items() if k not in ("name", "severity")},
                    "severity": Severity[spec["severity"].upper()],
                    "topic": None,  # every active topic
                },
            )
        for spec in data["subscriptions"]:
            Subscription.objects.update_or_create(
                email=spec["email"],
                user=None,
                defaults={"min_severity": Severity[spec["min_severity"].upper()]},
            )
    return (
        f"{created} topics added ({len(data['topics'])} in the demo set), "
        f"{len(data['alert_rules'])} alert rule(s), alert emails to "
        f"{', '.join(s['email'] for s in data['subscriptions'])}; news arrives once it runs"
    )


@dataclass(frozen=True)
class ReplayPlan:
    """How the replay paces its news (defaults from headlines.json, command options win)."""

    history_hours: float
    articles_per_hour_per_topic: float
    burst_after_s: float | None  # None: no burst
    burst_span_s: float


@dataclass
class HeadlineWriter:
    """Fills the headline templates for the demo topics; seeded, so a run is reproducible."""

    topics: list[dict[str, Any]]
    templates: dict[str, Any]
    rng: random.Random = field(default_factory=random.Random)
    # url -> the tone its template was written in. Never sent: the model scores the articles;
    # tests use it to check the demo's rule against the stream without a trained model.
    intended_tones: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_files(
        cls, *, topics: Path = DEMO_TOPICS, headlines: Path = DEMO_HEADLINES, seed: int | None
    ) -> HeadlineWriter:
        return cls(
            topics=json.loads(topics.read_text(encoding="utf-8"))["topics"],
            templates=json.loads(headlines.read_text(encoding="utf-8")),
            rng=random.Random(seed),  # noqa: S311 - demo text, not security
        )

    def plan(self, **overrides: Any) -> ReplayPlan:
        values = {
            **self.templates["replay"],
            **{k: v for k, v in overrides.items() if v is not None},
        }
        return ReplayPlan(
            history_hours=float(values["history_hours"]),
            articles_per_hour_per_topic=float(values["articles_per_hour_per_topic"]),
            burst_after_s=None if overrides.get("no_burst") else float(values["burst_after_s"]),
            burst_span_s=float(values["burst_span_s"]),
        )

    def _fill(self, template: str, topic: dict[str, Any]) -> str:
        rng = self.rng
        names = topic.get("headline_names") or topic["aliases"] or topic["keywords"]
        return template.format(
            name=rng.choice(names),
            ticker=rng.choice(topic["tickers"] or names),
            pct=rng.randint(2, 19),
            pct2=rng.randint(2, 9),
            amount=rng.choice(["1.2", "2.5", "3.1", "4.8", "6", "12"]),
            quarter=rng.choice(self.templates["quarters"]),
            city=rng.choice(self.templates["cities"]),
            n=rng.choice([120, 300, 450, 800, 1200, 2500]),
        )

    def _row(
        self, title: str, topic: dict[str, Any], published_at: datetime, tone: str
    ) -> dict[str, Any]:
        publisher = self.rng.choice(self.templates["publishers"])
        token = f"{self.rng.getrandbits(48):012x}"
        url = f"{DEMO_URL_PREFIX}{slugify(publisher)}/{topic['slug']}/{token}"
        self.intended_tones[url] = tone
        return {
            "id": f"demo-{token}",
            "title": title,
            # The outlet and minute make each story's text unique, as real reports are.
            "body": f"{publisher}, {published_at:%d %b %H:%M} UTC. {title}.",
            "url": url,
            "source": publisher,
            "published_at": published_at.isoformat(),
            "language": "en",
        }

    def headline(self, published_at: datetime, topic: dict[str, Any] | None = None) -> dict:
        """An everyday headline about a random topic, its tone drawn from the replay mix."""
        topic = topic or self.rng.choice(self.topics)
        mix = self.templates["replay"]["mix"]
        tone = self.rng.choices(list(mix), weights=list(mix.values()))[0]
        group = "theme" if topic["kind"] == "theme" else "company"
        template = self.rng.choice(self.templates[group][tone])
        return self._row(self._fill(template, topic), topic, published_at, tone)

    def burst(self, start: datetime, span_s: float) -> list[dict[str, Any]]:
        """The developing story: each burst headline once, spread over `span_s` seconds."""
        spec = self.templates["burst"]
        topic = next(t for t in self.topics if t["slug"] == spec["topic"])
        titles = list(spec["headlines"])
        step = span_s / max(1, len(titles) - 1)
        return [
            self._row(
                self._fill(title, topic), topic, start + timedelta(seconds=i * step), "negative"
            )
            for i, title in enumerate(titles)
        ]

    def history(self, *, start: datetime, end: datetime, per_hour_per_topic: float) -> list[dict]:
        """Everyday news about every topic over [start, end), oldest first."""
        hours = max(0.0, (end - start).total_seconds() / 3600)
        rows = []
        for topic in self.topics:
            n = round(hours * per_hour_per_topic)
            for _ in range(n):
                moment = start + (end - start) * self.rng.random()
                rows.append(self.headline(moment, topic))
        rows.sort(key=lambda r: r["published_at"])
        return rows


def demo_history_start(*, now: datetime, history_hours: float) -> datetime:
    """Where the catch-up starts: after the newest demo article, at most `history_hours` ago."""
    newest = Article.objects.filter(url__startswith=DEMO_URL_PREFIX).aggregate(
        newest=Max("published_at")
    )["newest"]
    earliest = now - timedelta(hours=history_hours)
    return max(earliest, newest) if newest else earliest


def live_schedule(
    writer: HeadlineWriter, plan: ReplayPlan, *, start: datetime
) -> Iterator[tuple[datetime, dict[str, Any] | None]]:
    """(when, row) forever: everyday news at the plan's pace, the burst once, in time order.

    Rows from the burst carry their own time; everyday rows get theirs when released (None).
    """
    pace_per_s = plan.articles_per_hour_per_topic * len(writer.topics) / 3600
    events: list[tuple[datetime, int, dict[str, Any] | None]] = []
    if plan.burst_after_s is not None:
        burst_start = start + timedelta(seconds=plan.burst_after_s)
        for i, row in enumerate(writer.burst(burst_start, plan.burst_span_s)):
            heapq.heappush(events, (datetime.fromisoformat(row["published_at"]), i, row))
    moment = start
    while True:
        moment += timedelta(seconds=writer.rng.expovariate(pace_per_s))  # a Poisson stream
        while events and events[0][0] <= moment:
            when, _, row = heapq.heappop(events)
            yield when, row
        yield moment, None


def demo_replay_run(
    *,
    writer: HeadlineWriter,
    plan: ReplayPlan,
    ingest: Callable[[list[dict[str, Any]]], Any],
    clock: Callable[[], datetime] = timezone.now,
    wait_until: Callable[[datetime], bool],
    on_progress: Callable[[str], None] = lambda _message: None,
) -> int:
    """Catch up the missing history, then release the live stream until `wait_until` says stop.

    `wait_until(moment)` sleeps until then and returns False to stop. Returns rows ingested.
    """
    now = clock()
    start = demo_history_start(now=now, history_hours=plan.history_hours)
    history = writer.history(
        start=start, end=now, per_hour_per_topic=plan.articles_per_hour_per_topic
    )
    sent = 0
    for offset in range(0, len(history), 500):
        ingest(history[offset : offset + 500])
        sent += len(history[offset : offset + 500])
    on_progress(f"history: {len(history)} articles from {start:%d %b %H:%M} UTC to now")
    for moment, row in live_schedule(writer, plan, start=now):
        if not wait_until(moment):
            break
        if row is None:
            row = writer.headline(clock())
        ingest([row])
        sent += 1
        on_progress(f"{row['published_at'][11:19]} {row['source']}: {row['title']}")
    return sent

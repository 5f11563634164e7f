"""Reads for the dashboard: per-topic timelines, alert markers, negative headlines, overview.

Counts come from TopicMatch (it carries the article's published time, indexed per topic) joined
to the article's latest prediction. The database groups by minute, hour or day with Django's
Trunc (PostgreSQL and SQLite alike); wider buckets (5 min, 6 h ...) are summed from those in
Python, so a 24 h range reads at most a few thousand grouped rows, never the articles.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf, Trunc
from django.utils import timezone

from apps.sentiment.models import Alert, Sentiment, Topic, TopicMatch


@dataclass(frozen=True)
class TimeRange:
    """A range the dashboard offers, and the bucket width that keeps its chart readable."""

    key: str
    label: str
    span: timedelta
    bucket: timedelta
    trunc_kind: str  # what the database truncates to; `bucket` is a whole multiple of it


TIME_RANGES: dict[str, TimeRange] = {
    r.key: r
    for r in (
        TimeRange("1h", "last hour", timedelta(hours=1), timedelta(minutes=1), "minute"),
        TimeRange("6h", "last 6 hours", timedelta(hours=6), timedelta(minutes=5), "minute"),
        TimeRange("24h", "last 24 hours", timedelta(hours=24), timedelta(minutes=15), "minute"),
        TimeRange("7d", "last 7 days", timedelta(days=7), timedelta(hours=2), "hour"),
        TimeRange("30d", "last 30 days", timedelta(days=30), timedelta(hours=12), "hour"),
    )
}
DEFAULT_RANGE = "24h"


@dataclass(frozen=True)
class Bucket:
    start: datetime
    positive: int = 0
    neutral: int = 0
    negative: int = 0
    unscored: int = 0

    @property
    def scored(self) -> int:
        return self.positive + self.neutral + self.negative

    @property
    def negative_share(self) -> float | None:
        """Share of scored articles that are negative; None for a bucket without any."""
        return self.negative / self.scored if self.scored else None


@dataclass(frozen=True)
class AlertMarker:
    id: int
    rule: str
    state: str
    severity: str
    fired_at: datetime
    resolved_at: datetime | None
    acknowledged: bool


@dataclass(frozen=True)
class Headline:
    article_id: int
    title: str
    url: str
    source: str
    published_at: datetime
    p_negative: float | None

    def to_dict(self) -> dict[str, Any]:
        return _jsonable(asdict(self))


@dataclass(frozen=True)
class TopicTimeline:
    topic: Topic
    time_range: TimeRange
    start: datetime
    end: datetime
    source: str
    buckets: list[Bucket]
    alerts: list[AlertMarker]
    sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "topic": {"slug": self.topic.slug, "name": self.topic.name},
            "range": self.time_range.key,
            "bucket_seconds": int(self.time_range.bucket.total_seconds()),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "source": self.source,
            "sources": self.sources,
            "buckets": [
                {
                    "start": b.start.isoformat(),
                    "positive": b.positive,
                    "neutral": b.neutral,
                    "negative": b.negative,
                    "unscored": b.unscored,
                    "negative_share": b.negative_share,
                }
                for b in self.buckets
            ],
            "alerts": [_jsonable(asdict(a)) for a in self.alerts],
            # The chart draws the share only where this many articles were scored: one
            # negative headline in a quiet slot is a 100 % that would hide a real spike.
            "share_min_articles": settings.SENTIMENT_CHART_SHARE_MIN_ARTICLES,
        }


@dataclass(frozen=True)
class TopicState:
    """A topic's row on the overview: what happened in the last hour against its baseline."""

    topic: Topic
    articles_last_hour: int
    negative_last_hour: int
    negative_share_last_hour: float | None
    baseline_negative_share: float | None
    baseline_articles_per_hour: float
    firing_alerts: int

    @property
    def share_vs_baseline(self) -> float | None:
        """Last hour's negative share minus the baseline's, in share points."""
        if self.negative_share_last_hour is None or self.baseline_negative_share is None:
            return None
        return self.negative_share_last_hour - self.baseline_negative_share

    def to_dict(self) -> dict[str, Any]:
        return {
            "slug": self.topic.slug,
            "name": self.topic.name,
            "kind": self.topic.kind,
            "articles_last_hour": self.articles_last_hour,
            "negative_last_hour": self.negative_last_hour,
            "negative_share_last_hour": self.negative_share_last_hour,
            "baseline_negative_share": self.baseline_negative_share,
            "baseline_articles_per_hour": self.baseline_articles_per_hour,
            "share_vs_baseline": self.share_vs_baseline,
            "firing_alerts": self.firing_alerts,
        }


def _jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}


def time_range_get(key: str | None) -> TimeRange:
    """The named range; KeyError names the allowed ones (views turn it into a 400)."""
    if not key:
        return TIME_RANGES[DEFAULT_RANGE]
    try:
        return TIME_RANGES[key]
    except KeyError:
        raise KeyError(f"range={key!r} is not one of {', '.join(TIME_RANGES)}") from None


def _publisher() -> Coalesce:
    """The source an analyst filters by: the publisher as delivered, else the feed's name."""
    return Coalesce(NullIf(F("article__source_name"), Value("")), F("article__source__name"))


def _topic_matches(
    *, topic: Topic, start: datetime, end: datetime, source: str
) -> QuerySet[TopicMatch]:
    """The topic's matches published in [start, end), from `source` only when one is given."""
    matches = TopicMatch.objects.filter(topic=topic, published_at__gte=start, published_at__lt=end)
    if source:
        matches = matches.annotate(publisher=_publisher()).filter(publisher=source)
    return matches


def _floor(moment: datetime, width: timedelta) -> datetime:
    """Start of the bucket of `width` holding `moment`, buckets aligned on the UTC epoch."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    return epoch + ((moment - epoch) // width) * width


def topic_sources(*, topic: Topic, since: datetime) -> list[str]:
    rows = (
        TopicMatch.objects.filter(topic=topic, published_at__gte=since)
        .annotate(publisher=_publisher())
        .exclude(publisher__isnull=True)
        .values_list("publisher", flat=True)
        .distinct()
    )
    return sorted(set(rows))


def topic_timeline(
    *, topic: Topic, range_key: str | None = None, source: str = "", now: datetime | None = None
) -> TopicTimeline:
    """Stacked sentiment counts per bucket over the range, with the alerts fired in it."""
    time_range = time_range_get(range_key)
    end = (now or timezone.now()).astimezone(UTC)
    # The last bucket holds `end`; the first starts a whole span before that bucket ends.
    last_start = _floor(end, time_range.bucket)
    first_start = last_start + time_range.bucket - time_range.span
    rows = (
        _topic_matches(
            topic=topic, start=first_start, end=last_start + time_range.bucket, source=source
        )
        .annotate(slot=Trunc("published_at", time_range.trunc_kind, tzinfo=UTC))
        .values("slot", "article__sentiment")
        .annotate(n=Count("id"))
    )
    counts: dict[datetime, dict[str, int]] = {}
    for row in rows:
        slot = _floor(row["slot"].astimezone(UTC), time_range.bucket)
        key = row["article__sentiment"] or "unscored"
        per_bucket = counts.setdefault(slot, {})
        per_bucket[key] = per_bucket.get(key, 0) + row["n"]
    n_buckets = int(time_range.span / time_range.bucket)
    starts = [first_start + i * time_range.bucket for i in range(n_buckets)]
    buckets = [Bucket(start=s, **counts.get(s, {})) for s in starts]
    return TopicTimeline(
        topic=topic,
        time_range=time_range,
        start=first_start,
        end=end,
        source=source,
        buckets=buckets,
        alerts=topic_alert_markers(topic=topic, start=first_start, end=end),
        sources=topic_sources(topic=topic, since=first_start),
    )


def topic_alert_markers(*, topic: Topic, start: datetime, end: datetime) -> list[AlertMarker]:
    """Alerts fired in the range, oldest first (the chart draws one marker each)."""
    alerts = (
        Alert.objects.filter(topic=topic, fired_at__gte=start, fired_at__lte=end)
        .select_related("rule")
        .order_by("fired_at", "id")
    )
    return [
        AlertMarker(
            id=a.id,
            rule=a.rule.name,
            state=a.state,
            severity=a.get_severity_display(),
            fired_at=a.fired_at,
            resolved_at=a.resolved_at,
            acknowledged=a.acknowledged_at is not None,
        )
        for a in alerts
    ]


def topic_negative_headlines(
    *,
    topic: Topic,
    range_key: str | None = None,
    source: str = "",
    limit: int = 10,
    now: datetime | None = None,
) -> list[Headline]:
    """The newest negative articles about the topic in the range, most recent first."""
    time_range = time_range_get(range_key)
    end = now or timezone.now()
    matches = (
        _topic_matches(
            topic=topic,
            start=end - time_range.span,
            end=end + timedelta(microseconds=1),
            source=source,
        )
        .filter(article__sentiment=Sentiment.NEGATIVE)
        .annotate(publisher_name=_publisher())
        .select_related("article")
        .order_by("-published_at", "-article_id")[:limit]
    )
    return [
        Headline(
            article_id=m.article_id,
            title=m.article.title,
            url=m.article.url,
            source=m.publisher_name or "",
            published_at=m.article.published_at,
            p_negative=m.article.p_negative,
        )
        for m in matches
    ]


def topics_overview(*, now: datetime | None = None) -> list[TopicState]:
    """Every active topic's last hour against its own baseline (the days before that hour)."""
    now = now or timezone.now()
    hour_ago = now - timedelta(hours=1)
    baseline_days = settings.SENTIMENT_DASHBOARD_BASELINE_DAYS
    baseline_start = hour_ago - timedelta(days=baseline_days)
    recent = Q(published_at__gte=hour_ago, published_at__lte=now)
    before = Q(published_at__gte=baseline_start, published_at__lt=hour_ago)
    scored = ~Q(article__sentiment="")
    negative = Q(article__sentiment=Sentiment.NEGATIVE)
    rows = {
        row["topic"]: row
        for row in TopicMatch.objects.filter(
            topic__active=True, published_at__gte=baseline_start, published_at__lte=now
        )
        .values("topic")
        .annotate(
            recent=Count("id", filter=recent),
            recent_scored=Count("id", filter=recent & scored),
            recent_negative=Count("id", filter=recent & negative),
            before=Count("id", filter=before),
            before_scored=Count("id", filter=before & scored),
            before_negative=Count("id", filter=before & negative),
        )
    }
    firing = dict(
        Alert.objects.filter(state=Alert.State.FIRING)
        .values("topic")
        .annotate(n=Count("id"))
        .values_list("topic", "n")
    )
    states = []
    for topic in Topic.objects.filter(active=True).order_by("name"):
        row = rows.get(topic.id, {})
        recent_scored, before_scored = row.get("recent_scored", 0), row.get("before_scored", 0)
        states.append(
            TopicState(
                topic=topic,
                articles_last_hour=row.get("recent", 0),
                negative_last_hour=row.get("recent_negative", 0),
                negative_share_last_hour=(
                    row["recent_negative"] / recent_scored if recent_scored else None
                ),
                baseline_negative_share=(
                    row["before_negative"] / before_scored if before_scored else None
                ),
                baseline_articles_per_hour=row.get("before", 0) / (baseline_days * 24),
                firing_alerts=firing.get(topic.id, 0),
            )
        )
    # Topics that need attention first: firing, then the largest rise in negative share.
    states.sort(key=lambda s: (-s.firing_alerts, -(s.share_vs_baseline or 0.0), s.topic.name))
    return states


@dataclass(frozen=True)
class TopicPage:
    """What a topic's page shows: the timeline and the latest negative headlines."""

    timeline: TopicTimeline
    negative_headlines: list[Headline]

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.timeline.to_dict(),
            "negative_headlines": [h.to_dict() for h in self.negative_headlines],
        }


def topic_page(
    *, topic: Topic, range_key: str | None = None, source: str = "", now: datetime | None = None
) -> TopicPage:
    timeline = topic_timeline(topic=topic, range_key=range_key, source=source, now=now)
    headlines = topic_negative_headlines(
        topic=topic, range_key=range_key, source=source, now=timeline.end
    )
    return TopicPage(timeline=timeline, negative_headlines=headlines)

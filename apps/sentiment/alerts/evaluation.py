"""Run the alert rules over the topics' recent news: fire, keep firing, or resolve.

Each rule is evaluated under a lock on its row, so the beat and the `articles_understood`
receiver never fire the same alert twice. An alert row (with its evidence) and the outbox rows
of its emails are written in one transaction: an email exists only for a saved alert, and a
saved alert always has its emails queued. An alert that keeps firing unacknowledged sends a
reminder once per cooldown (SENTIMENT_ALERT_MAX_REMINDERS at most); acknowledging stops them.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from apps.sentiment.alerts.emails import emails_queue
from apps.sentiment.alerts.outbox import FlushSummary, outbox_flush
from apps.sentiment.models import (
    Alert,
    AlertRule,
    Article,
    EmailOutbox,
    Sentiment,
    Topic,
    TopicMatch,
)
from apps.sentiment.surge import SurgeRule, SurgeSettings, SurgeVerdict, TopicStream, surge_evaluate

logger = logging.getLogger(__name__)


@dataclass
class EvaluationSummary:
    fired: list[int] = field(default_factory=list)  # new Alert ids
    resolved: list[int] = field(default_factory=list)
    reminded: list[int] = field(default_factory=list)  # still firing, unacknowledged
    suppressed: int = 0  # surges that started within a cooldown
    emails: int = 0  # outbox rows queued

    def merge(self, other: EvaluationSummary) -> None:
        self.fired += other.fired
        self.resolved += other.resolved
        self.reminded += other.reminded
        self.suppressed += other.suppressed
        self.emails += other.emails


def surge_settings() -> SurgeSettings:
    return SurgeSettings(
        history_hours=settings.SENTIMENT_SURGE_HISTORY_HOURS,
        half_life_hours=settings.SENTIMENT_SURGE_HALF_LIFE_HOURS,
        p_value=settings.SENTIMENT_SURGE_P_VALUE,
        min_expected_per_hour=settings.SENTIMENT_SURGE_MIN_EXPECTED_PER_HOUR,
        min_baseline_share=settings.SENTIMENT_SURGE_MIN_BASELINE_SHARE,
        release_fraction=settings.SENTIMENT_SURGE_RELEASE_FRACTION,
    )


def surge_rule_of(rule: AlertRule) -> SurgeRule:
    return SurgeRule(
        window_minutes=rule.window_minutes,
        min_articles=rule.min_articles,
        negative_share_threshold=rule.negative_share_threshold,
        surge_factor=rule.surge_factor,
    )


def topic_streams(
    *, topic_ids: Iterable[int], since: datetime, until: datetime
) -> dict[int, TopicStream]:
    """Each topic's scored articles published in [since, until) (unscored ones wait)."""
    events: dict[int, list[tuple[datetime, bool]]] = defaultdict(list)
    rows = (
        TopicMatch.objects.filter(
            topic_id__in=list(topic_ids), published_at__gte=since, published_at__lt=until
        )
        .exclude(article__sentiment="")
        .values_list("topic_id", "published_at", "article__sentiment")
    )
    for topic_id, published_at, sentiment in rows.iterator(chunk_size=5000):
        events[topic_id].append((published_at, sentiment == Sentiment.NEGATIVE))
    return {topic_id: TopicStream(events.get(topic_id, ())) for topic_id in topic_ids}


def headlines_most_negative(*, topic: Topic, start: datetime, end: datetime) -> list[dict]:
    """The window's most negative headlines, with links, for the evidence and the email."""
    articles = (
        Article.objects.filter(
            topic_matches__topic=topic,
            topic_matches__published_at__gte=start,
            topic_matches__published_at__lt=end,
            sentiment=Sentiment.NEGATIVE,
        )
        .order_by("-p_negative", "-published_at", "-id")
        .only("id", "title", "url", "source_name", "published_at", "p_negative")
    )[: settings.SENTIMENT_ALERT_HEADLINES]
    return [
        {
            "article_id": article.id,
            "title": article.title,
            # Only web links become links (email, admin): no javascript: or data: URLs.
            "url": article.url if article.url.startswith(("https://", "http://")) else "",
            "source": article.source_name,
            "published_at": article.published_at.isoformat(),
            "p_negative": None if article.p_negative is None else round(article.p_negative, 3),
        }
        for article in articles
    ]


def _evidence(rule: AlertRule, topic: Topic, verdict: SurgeVerdict) -> dict:
    return {
        **verdict.as_evidence(),
        "rule": {
            "window_minutes": rule.window_minutes,
            "min_articles": rule.min_articles,
            "negative_share_threshold": rule.negative_share_threshold,
            "surge_factor": rule.surge_factor,
        },
        "headlines": headlines_most_negative(
            topic=topic, start=verdict.window.start, end=verdict.window.end
        ),
    }


def reminder_due(*, alert: Alert, rule: AlertRule, now: datetime) -> bool:
    """Still firing and nobody acknowledged: remind once per cooldown, a few times at most."""
    if alert.acknowledged_at is not None or rule.cooldown_minutes == 0:
        return False
    if alert.reminders_sent >= settings.SENTIMENT_ALERT_MAX_REMINDERS:
        return False
    due = alert.fired_at + timedelta(minutes=rule.cooldown_minutes * (alert.reminders_sent + 1))
    return now >= due


def _rule_topics(rule: AlertRule, active_topics: dict[int, Topic]) -> list[Topic]:
    if rule.topic_id is None:
        return list(active_topics.values())
    topic = active_topics.get(rule.topic_id)
    return [topic] if topic else []


def rule_evaluate(
    *, rule_id: int, now: datetime, topics: list[Topic], streams: dict[int, TopicStream]
) -> EvaluationSummary:
    """One rule over its topics, under a lock on the rule (one evaluator per rule at a time)."""
    summary = EvaluationSummary()
    detector_settings = surge_settings()
    with transaction.atomic():
        rule = AlertRule.objects.select_for_update().filter(pk=rule_id, active=True).first()
        if rule is None:
            return summary
        surge_rule = surge_rule_of(rule)
        firing = {
            alert.topic_id: alert
            for alert in Alert.objects.filter(rule=rule, state=Alert.State.FIRING)
        }
        cooldown_start = now - timedelta(minutes=rule.cooldown_minutes)
        recently_fired = set(
            Alert.objects.filter(rule=rule, fired_at__gt=cooldown_start).values_list(
                "topic_id", flat=True
            )
        )
        fired: list[Alert] = []
        reminded: list[Alert] = []
        resolved: list[Alert] = []
        for topic in topics:
            alert = firing.get(topic.id)
            verdict = surge_evaluate(
                streams[topic.id],
                now=now,
                rule=surge_rule,
                was_surging=alert is not None,
                settings=detector_settings,
            )
            if verdict.started:
                if topic.id in recently_fired:
                    summary.suppressed += 1
                    continue
                fired.append(
                    Alert.objects.create(
                        rule=rule,
                        topic=topic,
                        severity=rule.severity,
                        window_start=verdict.window.start,
                        window_end=verdict.window.end,
                        evidence=_evidence(rule, topic, verdict),
                        fired_at=now,
                    )
                )
            elif verdict.ended and alert is not None:
                alert.state = Alert.State.RESOLVED
                alert.resolved_at = now
                alert.evidence = {**alert.evidence, "resolved": verdict.as_evidence()}
                alert.save(update_fields=["state", "resolved_at", "evidence"])
                resolved.append(alert)
            elif alert is not None and reminder_due(alert=alert, rule=rule, now=now):
                alert.reminders_sent += 1
                alert.evidence = {**alert.evidence, "latest": verdict.as_evidence()}
                alert.save(update_fields=["reminders_sent", "evidence"])
                reminded.append(alert)
        summary.emails += emails_queue(rule=rule, alerts=fired, kind=EmailOutbox.Kind.FIRED)
        summary.emails += emails_queue(rule=rule, alerts=resolved, kind=EmailOutbox.Kind.RESOLVED)
        # Grouped by reminder number: alerts fired together are reminded together.
        by_sequence: dict[int, list[Alert]] = defaultdict(list)
        for alert in reminded:
            by_sequence[alert.reminders_sent].append(alert)
        for sequence, alerts in sorted(by_sequence.items()):
            summary.emails += emails_queue(
                rule=rule, alerts=alerts, kind=EmailOutbox.Kind.REMINDER, sequence=sequence
            )
    summary.reminded = [alert.id for alert in reminded]
    summary.fired = [alert.id for alert in fired]
    summary.resolved = [alert.id for alert in resolved]
    for alert in fired:
        logger.info("alert fired alert=%s rule=%s topic=%s", alert.id, rule.id, alert.topic_id)
    for alert in reminded:
        logger.info("alert reminder alert=%s n=%s", alert.id, alert.reminders_sent)
    for alert in resolved:
        logger.info("alert resolved alert=%s rule=%s topic=%s", alert.id, rule.id, alert.topic_id)
    return summary


def alerts_evaluate(*, now: datetime, topic_ids: Iterable[int] | None = None) -> EvaluationSummary:
    """Every active rule over its active topics (only `topic_ids` when given) at time `now`."""
    topics_qs = Topic.objects.filter(active=True)
    if topic_ids is not None:
        topics_qs = topics_qs.filter(id__in=list(topic_ids))
    active_topics = {topic.id: topic for topic in topics_qs}
    rules = list(AlertRule.objects.filter(active=True))
    plan = [(rule, _rule_topics(rule, active_topics)) for rule in rules]
    plan = [(rule, topics) for rule, topics in plan if topics]
    summary = EvaluationSummary()
    if not plan:
        return summary
    longest = max(rule.window_minutes for rule, _ in plan)
    since = now - timedelta(hours=settings.SENTIMENT_SURGE_HISTORY_HOURS, minutes=longest)
    needed = {topic.id for _, topics in plan for topic in topics}
    streams = topic_streams(topic_ids=needed, since=since, until=now)
    for rule, topics in plan:
        summary.merge(rule_evaluate(rule_id=rule.id, now=now, topics=topics, streams=streams))
    return summary


def alerts_evaluate_and_send(
    *, now: datetime, topic_ids: Iterable[int] | None = None
) -> tuple[EvaluationSummary, FlushSummary | None]:
    """Evaluate, then send what it queued at once (None: nothing queued, no flush).

    Sending here rather than in a queued outbox_flush task keeps an alert email from waiting
    behind a scoring backlog on a worker that serves both queues. Concurrent flushers are safe:
    each email row is claimed (select_for_update skip_locked), so it is still sent once.
    """
    summary = alerts_evaluate(now=now, topic_ids=topic_ids)
    if not summary.emails:
        return summary, None
    return summary, outbox_flush()

"""The pushed burst and the latency measurement: arrival at the push API to the alert email
accepted by SMTP."""

from __future__ import annotations

import argparse
import os
import random
import time
from datetime import UTC, datetime
from typing import Any

from bench.alertlatency.data import COMPANIES, WARMUP_TITLES, burst_articles
from bench.alertlatency.report import say
from bench.alertlatency.stack import wait_for

TARGET_P99_S = 60.0


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    import numpy as np

    return float(np.percentile(np.asarray(values), q))


def _push(client: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post("/api/sentiment/articles/", {"articles": rows}, format="json")
    if response.status_code != 200:
        raise SystemExit(f"push API answered {response.status_code}: {response.content[:500]!r}")
    return response.json()


def measure(
    args: argparse.Namespace,
    pairs: list[tuple[str, str]],
    rng: random.Random,
    run_id: str,
    accepted: dict[str, float],
) -> dict[str, Any]:
    from django.utils import timezone
    from rest_framework.test import APIClient

    from apps.sentiment.models import (
        Alert,
        AlertRule,
        Article,
        EmailOutbox,
        IngestClient,
        Subscription,
        Topic,
    )

    topics = COMPANIES[: args.topics]
    for name in topics:
        Topic.objects.create(name=name, slug=name.lower().replace(" ", "-"), aliases=[name])
    AlertRule.objects.create(
        name="bench: negative surge",
        topic=None,
        window_minutes=15,
        min_articles=10,
        negative_share_threshold=0.5,
        surge_factor=2.0,
        cooldown_minutes=60,
    )
    Subscription.objects.create(email="risk-desk@example.com")
    ingest_client, key = IngestClient.create_with_key(name=f"bench-{run_id}")
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=key)

    # Warm-up: each worker process loads the model and encoder before the clock starts.
    warm_rows = [
        {
            "id": f"{run_id}-warm-{i}",
            "title": f"{title} ({run_id} {i})",
            "published_at": timezone.now().isoformat(),
        }
        for i, title in enumerate(WARMUP_TITLES * args.concurrency)
    ]
    for row in warm_rows:
        _push(client, [row])
    wait_for(
        lambda: not Article.objects.filter(client=ingest_client, sentiment="").exists(),
        timeout_s=args.timeout_s,
        what="the warm-up articles to be scored",
    )
    say("workers warm; burst starts")

    burst = burst_articles(
        pairs,
        topics=topics,
        n=args.articles,
        negative_share=args.negative_share,
        run_id=run_id,
        rng=rng,
    )
    arrival: dict[str, float] = {}
    load_at_start = os.getloadavg()[0]
    burst_started = time.time()
    for start in range(0, len(burst), args.batch):
        chunk = burst[start : start + args.batch]
        sent_at = time.time()
        published = datetime.fromtimestamp(sent_at, tz=UTC).isoformat()
        body = _push(client, [{**a.row, "published_at": published} for a in chunk])
        if body["created"] != len(chunk):
            raise SystemExit(
                f"burst rows not all created: {body['duplicates']} duplicates, "
                f"{body['failed']} failed"
            )
        for article in chunk:
            arrival[article.row["id"]] = sent_at
    burst_s = time.time() - burst_started
    say(f"burst of {len(burst)} pushed in {burst_s:.1f} s; waiting for alert emails")

    topic_ids = dict(Topic.objects.values_list("name", "id"))

    def emails_in() -> tuple[dict[int, Any], dict[int, float]]:
        """Each topic's fired alert, and when the email that told of it was accepted.

        One email per subscriber groups the alerts a rule fired in one evaluation (same rule,
        same fired_at); its outbox row points at the first of them.
        """
        alerts = {
            alert.topic_id: alert
            for alert in Alert.objects.filter(topic_id__in=topic_ids.values()).order_by("-fired_at")
        }
        accepted_by_event: dict[tuple[int, Any], float] = {}
        rows = EmailOutbox.objects.filter(kind=EmailOutbox.Kind.FIRED).values_list(
            "alert__rule_id", "alert__fired_at", "message_id"
        )
        for rule_id, fired_at, message_id in rows:
            if (at := accepted.get(message_id.strip())) is not None:
                event = (rule_id, fired_at)
                accepted_by_event[event] = min(accepted_by_event.get(event, at), at)
        received = {
            topic_id: accepted_by_event[(alert.rule_id, alert.fired_at)]
            for topic_id, alert in alerts.items()
            if (alert.rule_id, alert.fired_at) in accepted_by_event
        }
        return alerts, received

    deadline = time.monotonic() + args.timeout_s
    while len(emails_in()[1]) < len(topics) and time.monotonic() < deadline:
        time.sleep(0.5)
    alerts, received = emails_in()

    latencies: list[float] = []
    after_alert = missed = 0
    per_topic = []
    for name in topics:
        topic_id = topic_ids[name]
        ids = [a.row["id"] for a in burst if a.topic == name]
        alert = alerts.get(topic_id)
        email_at = received.get(topic_id)
        first = min(arrival[i] for i in ids)
        if alert is None or email_at is None:
            missed += len(ids)
            per_topic.append({"topic": name, "articles": len(ids), "alert": False})
            continue
        fired = alert.fired_at.timestamp()
        counted = [email_at - arrival[i] for i in ids if arrival[i] <= fired]
        after_alert += len(ids) - len(counted)
        latencies += counted
        per_topic.append(
            {
                "topic": name,
                "articles": len(ids),
                "alert": True,
                "counted": len(counted),
                "first_arrival_to_fired_s": round(fired - first, 2),
                "first_arrival_to_email_s": round(email_at - first, 2),
                "fired_to_email_s": round(email_at - fired, 2),
                "window_articles": alert.evidence.get("articles"),
                "window_negatives": alert.evidence.get("negatives"),
            }
        )
    p99 = None if missed else percentile(latencies, 99)
    return {
        "emails_accepted": len(accepted),
        "load_avg_1m_at_burst": round(load_at_start, 2),
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "articles": len(burst),
        "topics": len(topics),
        "batch_rows": args.batch,
        "burst_push_s": round(burst_s, 2),
        "alerts_emailed": len(received),
        "counted": len(latencies),
        "after_alert": after_alert,
        "missed": missed,
        "latency_s": {
            "p50": percentile(latencies, 50),
            "p90": percentile(latencies, 90),
            "p99": p99,
            "max": max(latencies) if latencies else None,
        },
        "target_p99_s": TARGET_P99_S,
        "target_met": p99 is not None and p99 < TARGET_P99_S,
        "per_topic": per_topic,
    }

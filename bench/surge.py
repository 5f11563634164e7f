"""How fast and how falsely the surge detector alerts: delay to catch injected surges, misses,
and false alerts per topic-day on quiet traffic, for several rule sets on the same streams.

    python bench/surge.py                      # seeded synthetic streams (the default)
    python bench/surge.py --data DIR           # DIR/events.csv: timestamp,topic,sentiment
                                               # (+ DIR/surges.csv: topic,start,end, if known)
    python bench/surge.py --write-data DIR     # save the synthetic streams in that layout

Synthetic streams: each topic has its own article rate (0.5-30 per hour, log-uniform), a
daily cycle (nights at 40 %), its own usual negative share (8-35 %), busy-but-not-negative
days (earnings, volume x3 at the usual share) and, on some days, an injected surge: extra
negative articles for 20-120 minutes. The first day of each topic only builds its baseline.
The detector (apps/sentiment/surge.py, the service's own code) runs every minute as the beat
does, with each rule's cooldown; a fire counts as a detection when it falls inside a surge or
within one window after its end, otherwise as a false alert.

Writes bench/results/surge.json and prints a table.
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from apps.sentiment.surge import (  # noqa: E402 (after the path insert)
    SurgeRule,
    SurgeSettings,
    TopicStream,
    surge_evaluate,
)
from bench.common import RESULTS_DIR, result_header, result_write  # noqa: E402

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday, midnight
STEP = timedelta(minutes=1)  # the beat's evaluation interval


@dataclass(frozen=True)
class RuleSpec:
    name: str
    rule: SurgeRule
    cooldown_minutes: int = 60


# The rules the rule sets below draw from. "15m" is AlertRule's model defaults.
RULES = {
    "5m": RuleSpec(
        "5m",
        SurgeRule(window_minutes=5, min_articles=4, negative_share_threshold=0.6, surge_factor=3),
    ),
    "10m": RuleSpec(
        "10m",
        SurgeRule(window_minutes=10, min_articles=4, negative_share_threshold=0.5, surge_factor=2),
    ),
    "15m": RuleSpec(
        "15m",
        SurgeRule(window_minutes=15, min_articles=5, negative_share_threshold=0.5, surge_factor=2),
    ),
    "30m": RuleSpec(
        "30m",
        SurgeRule(window_minutes=30, min_articles=6, negative_share_threshold=0.45, surge_factor=2),
    ),
    "60m": RuleSpec(
        "60m",
        SurgeRule(window_minutes=60, min_articles=8, negative_share_threshold=0.4, surge_factor=2),
    ),
}
# What the docs suggest: a short rule catches most surges within minutes, the hour rule the
# slow ones a short window never sees. Each rule sends its own email, so two rules, not three;
# 10m + 60m had the fewest false alerts of the two-rule sets (a sweep on these streams).
RECOMMENDED = "10m + 60m"
RULE_SETS = {
    "15m (model defaults)": ("15m",),
    "60m": ("60m",),
    "15m + 60m": ("15m", "60m"),
    "5m + 15m": ("5m", "15m"),
    "5m + 15m + 60m": ("5m", "15m", "60m"),
    "10m + 60m": ("10m", "60m"),
    "10m + 30m + 60m": ("10m", "30m", "60m"),
}


@dataclass
class Surge:
    topic: str
    start: datetime
    end: datetime
    extra_per_hour: float = 0.0


@dataclass
class Streams:
    events: dict[str, list[tuple[datetime, bool]]]
    surges: list[Surge]
    evaluate_from: datetime
    evaluate_until: datetime
    source: str
    topics_meta: dict[str, dict] = field(default_factory=dict)


def synthetic_streams(*, topics: int, days: int, seed: int) -> Streams:
    """Seeded topic streams with known injected surges (see the module docstring)."""
    rng = np.random.default_rng(seed)
    minutes = days * 24 * 60
    hour_of_day = (np.arange(minutes) % (24 * 60)) / 60.0
    # Busy 07:00-21:00, nights at 40 %: a smooth bump peaking at 14:00.
    daily = 0.4 + 0.9 * np.clip(np.sin(np.pi * (hour_of_day - 6) / 16), 0, None)
    events: dict[str, list[tuple[datetime, bool]]] = {}
    surges: list[Surge] = []
    meta: dict[str, dict] = {}
    for index in range(topics):
        name = f"topic-{index:02d}"
        rate_per_hour = float(math.exp(rng.uniform(math.log(0.5), math.log(30))))
        share = float(rng.uniform(0.08, 0.35))
        rate = rate_per_hour / 60 * daily  # per minute
        negative_rate = rate * share
        other_rate = rate * (1 - share)
        for day in range(1, days):  # day 0 only builds the baseline
            day_start = day * 1440
            if rng.random() < 0.15:  # busy, not negative: volume x3 at the usual share
                begin = day_start + int(rng.integers(6 * 60, 20 * 60))
                length = int(rng.integers(60, 180))
                negative_rate[begin : begin + length] *= 3
                other_rate[begin : begin + length] *= 3
            if rng.random() < 0.2:
                begin = day_start + int(rng.integers(60, 21 * 60))
                length = int(rng.integers(20, 121))
                extra_per_hour = max(3 * rate_per_hour, 10.0) * float(rng.uniform(1.0, 3.0))
                negative_rate[begin : begin + length] += extra_per_hour / 60
                surges.append(
                    Surge(
                        name,
                        START + timedelta(minutes=begin),
                        START + timedelta(minutes=begin + length),
                        round(extra_per_hour, 1),
                    )
                )
        negative_counts = rng.poisson(negative_rate)
        other_counts = rng.poisson(other_rate)
        stream = []
        for counts, negative in ((negative_counts, True), (other_counts, False)):
            minute_index = np.repeat(np.arange(minutes), counts)
            seconds = minute_index * 60 + rng.uniform(0, 60, size=len(minute_index))
            stream += [(START + timedelta(seconds=float(s)), negative) for s in seconds]
        events[name] = sorted(stream)
        meta[name] = {"articles_per_hour": round(rate_per_hour, 2), "negative_share": share}
    return Streams(
        events=events,
        surges=surges,
        evaluate_from=START + timedelta(days=1),
        evaluate_until=START + timedelta(days=days),
        source=f"synthetic seed={seed} topics={topics} days={days}",
        topics_meta=meta,
    )


def _parse_time(text: str) -> datetime:
    when = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def csv_streams(data: Path, *, warmup_hours: float) -> Streams | None:
    """DIR/events.csv (timestamp,topic,sentiment) and DIR/surges.csv (topic,start,end)."""
    path = data / "events.csv"
    if not path.is_file():
        return None
    events: dict[str, list[tuple[datetime, bool]]] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"timestamp", "topic", "sentiment"} - set(reader.fieldnames or [])
        if missing:
            raise SystemExit(f"{path}: missing columns {sorted(missing)}")
        for line, row in enumerate(reader, start=2):
            try:
                when = _parse_time(row["timestamp"])
            except ValueError as exc:
                raise SystemExit(f"{path}:{line}: bad timestamp {row['timestamp']!r}") from exc
            events.setdefault(row["topic"], []).append(
                (when, row["sentiment"].strip().lower() == "negative")
            )
    if not events:
        raise SystemExit(f"{path}: no events")
    surges = []
    surges_path = data / "surges.csv"
    if surges_path.is_file():
        with surges_path.open(newline="", encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                surges.append(
                    Surge(row["topic"], _parse_time(row["start"]), _parse_time(row["end"]))
                )
    first = min(when for stream in events.values() for when, _ in stream)
    last = max(when for stream in events.values() for when, _ in stream)
    begin = first.replace(second=0, microsecond=0) + timedelta(hours=warmup_hours)
    return Streams(
        events={topic: sorted(stream) for topic, stream in events.items()},
        surges=surges,
        evaluate_from=begin,
        evaluate_until=last + timedelta(minutes=1),
        source=f"csv {data}" + ("" if surges else " (no surges.csv: false alerts unknown)"),
    )


def streams_write(streams: Streams, data: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    with (data / "events.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["timestamp", "topic", "sentiment"])
        for topic, stream in streams.events.items():
            for when, negative in stream:
                writer.writerow([when.isoformat(), topic, "negative" if negative else "neutral"])
    with (data / "surges.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["topic", "start", "end"])
        for surge in streams.surges:
            writer.writerow([surge.topic, surge.start.isoformat(), surge.end.isoformat()])


def rule_fires(
    stream: TopicStream,
    spec: RuleSpec,
    *,
    start: datetime,
    until: datetime,
    settings: SurgeSettings,
) -> list[datetime]:
    """When the rule would send a "fired" email, evaluating every minute (cooldown applied)."""
    fires: list[datetime] = []
    surging = False
    last_fired: datetime | None = None
    cooldown = timedelta(minutes=spec.cooldown_minutes)
    now = start
    while now < until:
        verdict = surge_evaluate(
            stream, now=now, rule=spec.rule, was_surging=surging, settings=settings
        )
        if verdict.started:
            if last_fired is None or now - last_fired >= cooldown:
                fires.append(now)
                last_fired = now
                surging = True
        elif verdict.ended:
            surging = False
        now += STEP
    return fires


def score(streams: Streams, fires: dict[str, list[tuple[datetime, int]]]) -> dict:
    """Delays, misses and false alerts of one rule set (fires: topic -> (time, window min))."""
    delays, missed = [], []
    attributed: set[tuple[str, datetime, int]] = set()
    for surge in streams.surges:
        hits = [
            (when, window)
            for when, window in fires.get(surge.topic, [])
            if surge.start <= when <= surge.end + timedelta(minutes=window)
        ]
        attributed |= {(surge.topic, when, window) for when, window in hits}
        if hits:
            delays.append((min(when for when, _ in hits) - surge.start).total_seconds() / 60)
        else:
            missed.append(surge)
    false_alerts = sum(
        1
        for topic, topic_fires in fires.items()
        for when, window in topic_fires
        if (topic, when, window) not in attributed
    )
    span_days = (streams.evaluate_until - streams.evaluate_from).total_seconds() / 86400
    surge_days = sum((s.end - s.start).total_seconds() for s in streams.surges) / 86400
    quiet_topic_days = span_days * len(streams.events) - surge_days
    return {
        "surges": len(streams.surges),
        "detected": len(delays),
        "misses": len(missed),
        "detection_delay_minutes": {
            "median": round(statistics.median(delays), 1) if delays else None,
            "p90": round(float(np.percentile(delays, 90)), 1) if delays else None,
            "max": round(max(delays), 1) if delays else None,
        },
        "false_alerts": false_alerts,
        "quiet_topic_days": round(quiet_topic_days, 1),
        "false_alerts_per_day": round(false_alerts / quiet_topic_days, 4)
        if quiet_topic_days > 0
        else None,
        "missed_surges": [
            {
                "topic": s.topic,
                "start": s.start.isoformat(),
                "minutes": round((s.end - s.start).total_seconds() / 60),
                "extra_negatives_per_hour": s.extra_per_hour,
            }
            for s in missed
        ],
    }


def _or_dash(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, help="DIR with events.csv (+ surges.csv)")
    parser.add_argument("--write-data", type=Path, help="save the synthetic streams here")
    parser.add_argument("--topics", type=int, default=40)
    parser.add_argument("--days", type=int, default=8, help="incl. one baseline-only day")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "surge.json")
    args = parser.parse_args(argv)

    from tqdm import tqdm

    settings = SurgeSettings()
    if args.data:
        streams = csv_streams(args.data, warmup_hours=settings.history_hours)
        if streams is None:
            print(
                f"skip: {args.data} has no events.csv (columns timestamp,topic,sentiment); "
                "run without --data to use the seeded synthetic streams"
            )
            return 0
    else:
        streams = synthetic_streams(topics=args.topics, days=args.days, seed=args.seed)
        if args.write_data:
            streams_write(streams, args.write_data)

    used = sorted({name for names in RULE_SETS.values() for name in names})
    fires_by_rule: dict[str, dict[str, list[datetime]]] = {name: {} for name in used}
    with tqdm(total=len(used) * len(streams.events), desc="rules x topics", unit="topic") as bar:
        for topic, events in streams.events.items():
            stream = TopicStream(events)
            for name in used:
                fires_by_rule[name][topic] = rule_fires(
                    stream,
                    RULES[name],
                    start=streams.evaluate_from,
                    until=streams.evaluate_until,
                    settings=settings,
                )
                bar.update()

    results = {}
    for set_name, names in RULE_SETS.items():
        fires = {
            topic: [
                (when, RULES[name].rule.window_minutes)
                for name in names
                for when in fires_by_rule[name][topic]
            ]
            for topic in streams.events
        }
        results[set_name] = score(streams, fires)

    header = (
        f"{'rule set':<22} {'delay med':>9} {'p90':>6} {'max':>6} {'misses':>8} {'false/day':>10}"
    )
    print(f"\nsurge detector on {streams.source}: {len(streams.surges)} injected surges")
    print(header)
    print("-" * len(header))
    for set_name, result in results.items():
        delay = result["detection_delay_minutes"]
        print(
            f"{set_name:<22} {_or_dash(delay['median']):>9} {_or_dash(delay['p90']):>6} "
            f"{_or_dash(delay['max']):>6} {result['misses']:>4}/{result['surges']:<3} "
            f"{_or_dash(result['false_alerts_per_day']):>10}"
        )
    result = {
        **result_header("bench/surge.py"),
        "source": streams.source,
        "detector_settings": settings.__dict__,
        "rules": {
            name: {**spec.rule.__dict__, "cooldown_minutes": spec.cooldown_minutes}
            for name, spec in RULES.items()
        },
        "evaluation_interval_s": int(STEP.total_seconds()),
        "recommended": RECOMMENDED,
        "rule_sets": results,
    }
    print(f"recommended: {RECOMMENDED}")
    print(f"\nwrote {result_write(args.out, result)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

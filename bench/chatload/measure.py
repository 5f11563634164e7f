"""Reading a chat load run's numbers: answer times from the database, machine CPU, the
sampler's profile summary, capacity, and the printed table."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np


def pct(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(values, q)), 1) if values else None


def answer_stats(window: tuple[float, float]) -> dict[str, Any]:
    """answer_question times (evidence.latency_ms) and decisions of bot messages saved in window."""
    from django.db import connection

    from apps.chat.models import Message

    start, end = (datetime.fromtimestamp(t, UTC) for t in window)
    evidence = list(
        Message.objects.filter(
            sender="bot", created_at__gte=start, created_at__lte=end
        ).values_list("evidence", flat=True)
    )
    connection.close()
    latencies = [float(e["latency_ms"]) for e in evidence if e and "latency_ms" in e]
    return {
        "answer_question_p50_ms": pct(latencies, 50),
        "answer_question_p99_ms": pct(latencies, 99),
        "decisions": dict(Counter(str(e.get("decision")) for e in evidence if e)),
    }


def machine_busy_s() -> float:
    import psutil

    t = psutil.cpu_times()
    return float(sum(t) - t.idle - getattr(t, "iowait", 0.0))


def profile_summary(
    raw: dict[str, Any] | None, cpu_by_thread: dict[int, float], wall_s: float, top: int = 12
) -> dict[str, Any] | None:
    """Per thread kind: CPU cores used, and the wall-time shares of where it was (sampled)."""
    if not raw or not raw.get("samples"):
        return None
    samples = raw["samples"]
    cpu_by_kind: Counter = Counter()
    for native_id, seconds in cpu_by_thread.items():
        cpu_by_kind[raw["kinds"].get(str(native_id), "other")] += seconds
    by_kind: dict[str, list] = defaultdict(list)
    for kind, where, n in raw["stacks"]:
        by_kind[kind].append((where, n))
    out: dict[str, Any] = {
        "samples": samples,
        **(
            {"cprofile_tottime_s": raw["cprofile_tottime_s"]} if "cprofile_tottime_s" in raw else {}
        ),
        "gc_by_generation": raw.get("gc"),
        "cpu_cores_unsampled_threads": round(
            sum(v for k, v in cpu_by_kind.items() if k not in by_kind) / wall_s, 3
        ),
    }
    for kind, rows in sorted(by_kind.items()):
        total = sum(n for _, n in rows)
        rows.sort(key=lambda r: -r[1])
        out[kind] = {
            "cpu_cores": round(cpu_by_kind.get(kind, 0.0) / wall_s, 3),
            "thread_samples_per_tick": round(total / samples, 2),
            "top": [{"where": w, "share": round(n / total, 3)} for w, n in rows[:top]],
        }
    return out


def capacity(steps: list[dict[str, Any]]) -> float:
    best = 0.0
    for step in sorted(steps, key=lambda s: s["rate_msgs_per_s"]):
        if not step["within_budget"]:
            break
        best = step["rate_msgs_per_s"]
    return best


def print_table(modes: dict[str, dict[str, Any]]) -> None:
    header = (
        f"{'mode':<6}{'rate':>6}{'sent':>7}{'msg/s':>8}{'p50 ms':>9}{'p99 ms':>9}{'err':>5}"
        f"{'t/o':>5}{'batch':>7}{'answer p50':>11}{'srv cpu':>8}{'cli cpu':>8}{'other':>7}  ok"
    )
    print(header)
    for mode, result in modes.items():
        for s in result["steps"]:
            fmt = lambda v: "-" if v is None else f"{v:.1f}"  # noqa: E731
            print(
                f"{mode:<6}{s['rate_msgs_per_s']:>6g}{s['sent']:>7}{s['msgs_per_s']:>8.1f}"
                f"{fmt(s['p50_ms']):>9}{fmt(s['p99_ms']):>9}{sum(s['errors'].values()):>5}"
                f"{s['timeouts']:>5}{fmt(s['encoder_mean_batch']):>7}"
                f"{fmt(s['answer_question_p50_ms']):>11}{s['cpu_cores']['server']:>8.2f}"
                f"{s['cpu_cores']['client']:>8.2f}{s['cpu_cores']['other']:>7.2f}"
                f"  {'yes' if s['within_budget'] else 'no'}"
            )
        print(f"{mode:<6}capacity {result['capacity_msgs_per_s']:g} msg/s")

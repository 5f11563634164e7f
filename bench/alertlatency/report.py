"""Output of the alert latency benchmark: progress lines and the printed table."""

from __future__ import annotations

from typing import Any


def say(message: str) -> None:
    print(message, flush=True)


def print_table(result: dict[str, Any]) -> None:
    lat = result["latency_s"]

    def fmt(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    say("")
    say("arrival -> alert email accepted by SMTP")
    say(
        f"{'articles':>10} {'topics':>7} {'counted':>8} {'missed':>7} "
        f"{'p50 s':>8} {'p90 s':>8} {'p99 s':>8} {'max s':>8} {'p99<60s':>8}"
    )
    say(
        f"{result['articles']:>10} {result['topics']:>7} {result['counted']:>8} "
        f"{result['missed']:>7} {fmt(lat['p50']):>8} {fmt(lat['p90']):>8} {fmt(lat['p99']):>8} "
        f"{fmt(lat['max']):>8} {'yes' if result['target_met'] else 'no':>8}"
    )
    say("")
    say(f"{'topic':<20} {'articles':>8} {'1st->fired s':>13} {'fired->email s':>15}")
    for row in result["per_topic"]:
        if not row["alert"]:
            say(f"{row['topic']:<20} {row['articles']:>8} {'no alert':>13}")
            continue
        say(
            f"{row['topic']:<20} {row['articles']:>8} {row['first_arrival_to_fired_s']:>13} "
            f"{row['fired_to_email_s']:>15}"
        )

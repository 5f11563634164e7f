"""The printed table of the recommendations load test."""

from __future__ import annotations


def table(result: dict) -> str:
    lines = [
        f"{'items':>9} {'events':>9} {'config':>9} {'clients':>7} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'req/s':>7} {'srv p50':>8} {'srv p99':>8} {'errors':>6} {'srv cores':>9} {'load':>9}"
    ]
    for step in result["steps"]:
        for run in step["runs"]:
            lines.append(
                f"{step['items']:>9} {step['setup']['events']:>9} {run['config']:>9} "
                f"{run['clients']:>7} {run['p50_ms']!s:>8} {run['p99_ms']!s:>8} "
                f"{run['req_per_s']:>7} {run['server']['p50_ms']!s:>8} "
                f"{run['server']['p99_ms']!s:>8} {run['errors']:>6} "
                f"{run['server_cpu_cores']:>9} {'/'.join(map(str, run['load_avg_1m'])):>9}"
            )
    return "\n".join(lines)

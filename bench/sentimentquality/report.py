"""The printed table of the sentiment quality benchmark."""

from __future__ import annotations

from typing import Any


def _f(value: float | None, width: int = 8) -> str:
    return f"{value:>{width}.3f}" if value is not None else f"{'-':>{width}}"


def _int8(row: dict[str, Any]) -> str:
    if "int8" not in row:
        return f"{'-':>7}{'-':>7}{'-':>8}"
    q = row["int8"]
    return (
        f"{_f(q['test']['accuracy'], 7)}{_f(q['test']['macro_f1'], 7)}"
        f"{q['headlines_per_s']['bulk']:>8.0f}"
    )


def table(result: dict[str, Any]) -> str:
    split = result["split"]["label_counts"]
    lines = [
        f"sentiment quality on {result['dataset']}: train {sum(split['train'].values())} / val "
        f"{sum(split['validation'].values())} / test {sum(split['test'].values())} "
        f"(all-agree test {sum(split['allagree_test'].values())}), device {result['device']}, "
        f"threads {result['threads']}, load avg {result['load_average']}"
        + (f", TRAIN SUBSET of {result['max_train']}" if result.get("max_train") else ""),
        f"{'technique':<19}{'val_f1':>8}{'acc':>8}{'macro_f1':>9}{'aa_acc':>8}{'aa_f1':>8}"
        f"{'train_s':>9}{'bulk/s':>8}{'one/s':>7}{'acc8':>7}{'f1_8':>7}{'bulk8/s':>8}  builds on",
    ]
    for name, row in result["techniques"].items():
        speed = row["headlines_per_s"]
        lines.append(
            f"{name:<19}{_f(row['validation']['macro_f1'])}{_f(row['test']['accuracy'])}"
            f"{_f(row['test']['macro_f1'], 9)}{_f(row['allagree_test']['accuracy'])}"
            f"{_f(row['allagree_test']['macro_f1'])}{row['train_seconds']:>9.0f}"
            f"{speed['bulk']:>8.0f}{speed['one_at_a_time']:>7.0f}{_int8(row)}"
            f"  {row['builds_on'] or ''}"
        )
    if result.get("served_technique"):
        lines.append(
            f"served (best validation macro-F1 at >= {result['targets']['headlines_per_s']} "
            f"headlines/s bulk): {result['served_technique']}"
        )
        for key, target in result["targets"].items():
            value = result[key]["bulk"] if key == "headlines_per_s" else result[key]
            met = value is not None and value >= target
            lines.append(f"  {key:<20}{_f(value, 9)}  target {target}  {'met' if met else 'NO'}")
    return "\n".join(lines)

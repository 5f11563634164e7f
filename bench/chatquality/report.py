"""The printed summaries of the chat quality benchmark."""

from __future__ import annotations

from typing import Any

from bench.chatquality.config import TARGETS


def table(result: dict[str, Any]) -> str:
    """The human-readable summary printed at the end."""
    lines = [
        f"chat quality on {result['dataset']}: train {result['n_train']} / val "
        f"{result['n_validation']} / test {result['n_test']}, {result['n_intents']} intents, "
        f"device {result['device']}, threads {result['threads']}",
        f"{'metric':<34}{'value':>10}{'target':>10}  met",
    ]
    for key in (
        "intent_accuracy",
        "intent_macro_f1",
        "baseline_logreg_accuracy",
        "recall_at_1",
        "recall_at_5",
        "mrr",
        "oos_recall",
        "in_scope_accuracy",
        "in_scope_accuracy_lenient",
        "train_seconds",
    ):
        target = result["targets"].get(key)
        goal = f"{target['target']:>10.2f}" if target else " " * 10
        met = ("yes" if target["met"] else "NO") if target else ""
        lines.append(f"{key:<34}{result[key]:>10.4f}{goal}  {met}")
    lines.append("retrieval on test (recall@1 / recall@5 / MRR / ECE):")
    for name, m in result["retrieval"].items():
        lines.append(
            f"  {name:<32}{m['recall_at_1']:.4f} / {m['recall_at_5']:.4f} / "
            f"{m['mrr']:.4f} / {m['ece']:.4f}"
        )
    th = result["thresholds"]
    lines.append(
        f"thresholds: answer {th['answer']:.4f}, suggest {th['suggest']:.4f} "
        f"(retrieval config {result['oos']['retrieval_config']})"
    )
    lines.append(f"wall {result['wall_seconds']:.0f}s, load avg {result['load_average']}")
    return "\n".join(lines)


def labelled_oos_table(result: dict[str, Any]) -> str:
    lines = [
        f"{result['n_in_scope_intents']} in-scope intents, {len(result['unseen_intents'])} unseen, "
        f"{len(result['marked_intents'])} marked out of scope; test {result['n_test']}",
        f"{'classifier':<16}{'oos_recall':>11}{'in_scope_acc':>13}{'marked_recall':>14}"
        f"{'auroc_unseen':>13}{'train_s':>9}",
    ]
    for name, v in result["variants"].items():
        lines.append(
            f"{name:<16}{v['test']['oos_recall']:>11.3f}{v['test']['in_scope_accuracy']:>13.3f}"
            f"{v['test_marked_oos_recall']:>14.3f}{v['test_auroc_in_vs_unseen']:>13.3f}"
            f"{v['train_seconds']:>9.0f}"
        )
    goals = f"oos_recall >= {TARGETS['oos_recall']}, in-scope >= {TARGETS['in_scope_accuracy']}"
    lines.append(f"targets: {goals}")
    return "\n".join(lines)

"""Training examples: CSV in/out, fingerprints, label sets, stratified split, class weights.

Plain Python (no torch) so uploads can be validated in the web process before a job is queued.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from ml.storage import atomic_write
from ml.training.kinds import TaskKind

LABEL_COLUMNS = ("label", "category")
FINGERPRINT_VERSION = "tessera-examples-v1"


@dataclass(frozen=True)
class Example:
    """One labelled text, or a (text, text_pair) pair for cross-encoder scoring."""

    text: str
    label: str
    text_pair: str | None = None


def read_examples_csv(path: Path) -> list[Example]:
    """Read `text,label[,text_pair]` (or `category` instead of `label`) with a header row.

    Bad rows raise ValueError naming the file and the line, so users can fix uploads themselves.
    """
    path = Path(path)
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [name.strip() for name in (reader.fieldnames or [])]
        if not header:
            raise ValueError(f"{path}: empty file; expected a header row like 'text,label'")
        reader.fieldnames = header
        label_columns = [name for name in LABEL_COLUMNS if name in header]
        if "text" not in header or len(label_columns) != 1:
            raise ValueError(
                f"{path}: header {header!r} must have a 'text' column and exactly one of "
                f"{' or '.join(repr(c) for c in LABEL_COLUMNS)} (optionally 'text_pair')"
            )
        label_column = label_columns[0]
        has_pair = "text_pair" in header
        examples: list[Example] = []
        for row in reader:
            line = reader.line_num
            if None in row or any(row[name] is None for name in header):
                found = len(header) - sum(row[n] is None for n in header) + len(row.get(None, []))
                raise ValueError(
                    f"{path}:{line}: {found} fields, but the header has {len(header)} columns"
                )
            if not any(value.strip() for value in row.values()):
                continue  # blank line
            text, label = row["text"], row[label_column].strip()
            if not text.strip():
                raise ValueError(f"{path}:{line}: empty 'text'")
            if not label:
                raise ValueError(f"{path}:{line}: empty '{label_column}'")
            pair = row["text_pair"] if has_pair else None
            examples.append(Example(text=text, label=label, text_pair=pair or None))
    if not examples:
        raise ValueError(f"{path}: no examples after the header row")
    return examples


def write_examples_csv(path: Path, examples: Iterable[Example]) -> None:
    """Write examples in the format `read_examples_csv` reads (text_pair column only if used)."""
    rows = list(examples)
    has_pair = any(example.text_pair is not None for example in rows)
    header = ["text", "label", "text_pair"] if has_pair else ["text", "label"]
    # A retried run rewrites the snapshot in place; readers see the old file or the new one.
    with atomic_write(Path(path), "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for example in rows:
            values = [example.text, example.label]
            if has_pair:
                values.append(example.text_pair or "")
            writer.writerow(values)


def dataset_fingerprint(examples: Sequence[Example]) -> str:
    """sha256 over an ordering-sensitive canonical JSON form; identical data => identical id.

    Order matters because shuffling with a fixed seed depends on it, so reordered data is a
    different training run.
    """
    digest = hashlib.sha256(FINGERPRINT_VERSION.encode())
    for example in examples:
        record = [example.text, example.label, example.text_pair]
        digest.update(json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode())
        digest.update(b"\n")
    return digest.hexdigest()


def label_set(examples: Iterable[Example]) -> list[str]:
    """Sorted unique label strings (lexicographic: "10" sorts before "2")."""
    return sorted({example.label for example in examples})


def check_examples(
    examples: Sequence[Example], task_type: TaskKind | str, what: str = "training"
) -> None:
    """Pair tasks need text_pair on every example; classification must have none."""
    task_type = TaskKind(task_type)
    for index, example in enumerate(examples):
        if task_type.takes_pairs and example.text_pair is None:
            raise ValueError(
                f"{what} example {index} ({example.text[:40]!r}) has no text_pair, but "
                f"task_type='{TaskKind.PAIR}' needs one on every example"
            )
        if not task_type.takes_pairs and example.text_pair is not None:
            raise ValueError(
                f"{what} example {index} ({example.text[:40]!r}) has a text_pair; "
                f"use task_type='{TaskKind.PAIR}' for text-pair data"
            )


def stratified_split(
    examples: Sequence[Example], fraction: float, seed: int
) -> tuple[list[Example], list[Example]]:
    """Hold out about `fraction` of each label for validation, keeping order otherwise stable.

    Every label with >= 2 examples gets at least one validation example, and every label keeps at
    least one training example, so tiny datasets still produce a meaningful per-class report.
    """
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        by_label[example.label].append(index)
    rng = random.Random(seed)  # noqa: S311 - reproducible shuffling, not security
    held_out: set[int] = set()
    for label in sorted(by_label):
        indices = by_label[label]
        if len(indices) < 2:
            continue
        count = min(max(round(len(indices) * fraction), 1), len(indices) - 1)
        held_out.update(rng.sample(indices, count))
    train = [ex for i, ex in enumerate(examples) if i not in held_out]
    validation = [ex for i, ex in enumerate(examples) if i in held_out]
    if not validation:
        raise ValueError(
            f"cannot hold out a validation set from {len(examples)} examples (every label has a "
            "single example); add examples or pass a validation set"
        )
    return train, validation


def class_weights(label_ids: Sequence[int], num_labels: int) -> list[float]:
    """Inverse-frequency weights n / (k * n_c) (scikit-learn's "balanced"); mean over samples = 1.

    k counts the labels that occur; a label with no training examples gets weight 0 (it can never
    be the target anyway).
    """
    counts = Counter(label_ids)
    total, present = len(label_ids), len(counts)
    return [total / (present * counts[c]) if counts[c] else 0.0 for c in range(num_labels)]

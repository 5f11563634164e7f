"""The benchmark's data: Financial PhraseBank's files or a `train.csv` / `test.csv` pair, split
once, with a fixed seed, into train / validation / test.

PhraseBank split (documented in the result JSON under `split`):
1. Read `Sentences_50Agree.txt` (every sentence with at least 50 % annotator agreement; latin-1,
   `sentence@label`, split on the last `@`).
2. De-duplicate: repeated lines are kept once; a sentence that occurs with two different labels
   (2 in v1.0) is dropped, since neither label is the annotators' answer.
3. Stratified by label with `ml.training.data.stratified_split` and seed `--seed` (42): 20 % is
   held out, and the held-out part is halved (same function and seed) into validation and test:
   80 / 10 / 10.
4. The all-agree test set is the test split's sentences that `Sentences_AllAgree.txt` also has:
   the same trained model, scored only on sentences it never saw.
A CSV pair keeps its test.csv as the test set; validation is a stratified 1/9 of train.csv
(80 / 10 / 10 when test.csv is a tenth of the whole).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import missing_splits, read_labelled

PHRASEBANK_FULL = "Sentences_50Agree.txt"
PHRASEBANK_ALLAGREE = "Sentences_AllAgree.txt"
LABELS = ("negative", "neutral", "positive")
HOLDOUT_FRACTION = 0.2  # validation + test, halved between them


@dataclass
class Splits:
    """What every technique is trained and scored on (identical for all of them)."""

    source: str
    train: list[Any]
    validation: list[Any]
    test: list[Any]
    allagree_test: list[Any] = field(default_factory=list)
    notes: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        counts = {
            name: dict(sorted(Counter(e.label for e in rows).items()))
            for name, rows in (
                ("train", self.train),
                ("validation", self.validation),
                ("test", self.test),
                ("allagree_test", self.allagree_test),
            )
        }
        return {"source": self.source, "label_counts": counts, **self.notes}


def phrasebank_read(path: Path) -> list[tuple[str, str]]:
    """(sentence, label) per line of a PhraseBank file; SystemExit naming a bad line."""
    rows = []
    with Path(path).open(encoding="latin-1") as handle:
        for number, line in enumerate(handle, start=1):
            line = line.strip()
            if not line:
                continue
            sentence, sep, label = line.rpartition("@")
            if not sep or not sentence.strip() or label not in LABELS:
                raise SystemExit(
                    f"{path}:{number}: expected 'sentence@label' with label in {LABELS}"
                )
            rows.append((sentence.strip(), label))
    return rows


def deduplicate(rows: list[tuple[str, str]]) -> tuple[list[tuple[str, str]], dict[str, int]]:
    """First occurrence of each sentence; sentences seen with two labels are dropped."""
    labels: dict[str, set[str]] = {}
    for sentence, label in rows:
        labels.setdefault(sentence, set()).add(label)
    seen: set[str] = set()
    kept = []
    for sentence, label in rows:
        if len(labels[sentence]) == 1 and sentence not in seen:
            seen.add(sentence)
            kept.append((sentence, label))
    conflicting = sum(len(v) > 1 for v in labels.values())
    return kept, {
        "lines": len(rows),
        "duplicates_removed": len(rows) - len(kept) - sum(1 for s, _ in rows if len(labels[s]) > 1),
        "conflicting_sentences_dropped": conflicting,
    }


def phrasebank_splits(data: Path, seed: int) -> Splits:
    from ml.training import Example
    from ml.training.data import stratified_split

    rows, notes = deduplicate(phrasebank_read(data / PHRASEBANK_FULL))
    examples = [Example(text=s, label=label) for s, label in rows]
    train, held_out = stratified_split(examples, HOLDOUT_FRACTION, seed)
    validation, test = stratified_split(held_out, 0.5, seed)
    allagree: list[Any] = []
    if (data / PHRASEBANK_ALLAGREE).is_file():
        agreed = dict(phrasebank_read(data / PHRASEBANK_ALLAGREE))
        allagree = [e for e in test if agreed.get(e.text) == e.label]
    notes = {
        **notes,
        "file": PHRASEBANK_FULL,
        "split": "stratified 80/10/10 (ml.training.data.stratified_split twice)",
        "seed": seed,
    }
    return Splits("financial_phrasebank", train, validation, test, allagree, notes)


def csv_splits(data: Path, seed: int) -> Splits:
    from ml.training.data import stratified_split

    train, validation = stratified_split(read_labelled(data / "train.csv"), 1 / 9, seed)
    test = read_labelled(data / "test.csv")
    notes = {"split": "test.csv; validation a stratified 1/9 of train.csv", "seed": seed}
    return Splits(data.resolve().name, train, validation, test, [], notes)


def load_splits(data: Path, seed: int, *, max_train: int | None = None) -> Splits | None:
    """PhraseBank when its 50 %-agree file is there, else the CSV pair; None when neither.

    `max_train` keeps a stratified subset of that many training sentences (the same for every
    technique); validation and test are untouched, so figures stay comparable.
    """
    from bench.chatquality.models import subsample

    if (data / PHRASEBANK_FULL).is_file():
        splits = phrasebank_splits(data, seed)
    elif not missing_splits(data):
        splits = csv_splits(data, seed)
    else:
        return None
    if max_train is not None:
        splits.train = subsample(splits.train, max_train, seed)
        splits.notes["max_train"] = max_train
    return splits

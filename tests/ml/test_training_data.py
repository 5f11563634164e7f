"""Examples CSV, fingerprints, stratified split and class weights."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ml.training import Example, dataset_fingerprint, read_examples_csv, write_examples_csv
from ml.training.data import check_examples, class_weights, label_set, stratified_split


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_round_trip_with_pairs_and_awkward_text(tmp_path: Path) -> None:
    examples = [
        Example('says "hi", then, leaves', "greet", "line one\nline two"),
        Example("ünïcode ✓", "other", "pair"),
        Example("no pair here", "other"),
    ]
    path = tmp_path / "ex.csv"
    write_examples_csv(path, examples)
    assert read_examples_csv(path) == examples


def test_csv_without_pairs_has_two_columns(tmp_path: Path) -> None:
    path = tmp_path / "ex.csv"
    write_examples_csv(path, [Example("a", "x")])
    assert path.read_text(encoding="utf-8").splitlines()[0] == "text,label"


def test_category_column_bom_and_blank_lines(tmp_path: Path) -> None:
    path = _write(tmp_path / "c.csv", "\ufefftext,category\nhello,greet \n\n,\nbye,farewell\n")
    assert read_examples_csv(path) == [Example("hello", "greet"), Example("bye", "farewell")]


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("text,label\nok,a\n,b\n", ":3: empty 'text'"),
        ("text,label\nok,a\nok,a\nfine,\n", ":4: empty 'label'"),
        ("text,label\nok,a\ntoo,many,fields\n", ":3: 3 fields, but the header has 2"),
        ("text,label,text_pair\nok,a,p\nshort,a\n", ":3: 2 fields, but the header has 3"),
        ("text,target\nok,a\n", "exactly one of 'label' or 'category'"),
        ("text,label,category\nok,a,b\n", "exactly one of"),
        ("", "empty file"),
        ("text,label\n", "no examples"),
    ],
)
def test_csv_errors_name_file_and_line(tmp_path: Path, content: str, needle: str) -> None:
    path = _write(tmp_path / "bad.csv", content)
    with pytest.raises(ValueError, match="bad.csv") as info:
        read_examples_csv(path)
    assert needle in str(info.value)


def test_fingerprint_is_stable_and_order_sensitive() -> None:
    a, b = Example("x", "1"), Example("y", "0", "p")
    assert dataset_fingerprint([a, b]) == dataset_fingerprint([Example("x", "1"), b])
    assert len(dataset_fingerprint([a, b])) == 64
    variants = {
        dataset_fingerprint(rows)
        for rows in (
            [a, b],
            [b, a],
            [a],
            [Example("x", "0"), b],
            [a, Example("y", "0", "")],
            [Example("x\n", "1"), b],
        )
    }
    assert len(variants) == 6


def test_label_set_is_sorted_unique() -> None:
    assert label_set([Example("a", "b"), Example("c", "a"), Example("d", "b")]) == ["a", "b"]


def test_stratified_split_holds_out_every_label() -> None:
    examples = [
        Example(f"t{i}", label) for label, n in (("a", 40), ("b", 9), ("c", 1)) for i in range(n)
    ]
    train, validation = stratified_split(examples, 0.1, seed=3)
    held = Counter(e.label for e in validation)
    assert held == {"a": 4, "b": 1}  # "c" has a single example: it stays in training
    assert sorted(train + validation, key=examples.index) == examples
    assert stratified_split(examples, 0.1, seed=3) == (train, validation)
    assert stratified_split(examples, 0.1, seed=4) != (train, validation)


def test_stratified_split_needs_two_of_some_label() -> None:
    with pytest.raises(ValueError, match="validation set"):
        stratified_split([Example("a", "x"), Example("b", "y")], 0.5, seed=0)


def test_class_weights_are_inverse_frequency() -> None:
    ids = [0] * 6 + [1] * 3 + [2]
    assert class_weights(ids, 4) == pytest.approx([10 / 18, 10 / 9, 10 / 3, 0.0])
    weights = class_weights(ids, 3)
    assert sum(weights[i] for i in ids) / len(ids) == pytest.approx(1.0)


def test_check_examples_enforces_pair_shape() -> None:
    with pytest.raises(ValueError, match="task_type='pair'"):
        check_examples([Example("a", "1", "p"), Example("b", "0")], "pair")
    with pytest.raises(ValueError, match="use task_type='pair'"):
        check_examples([Example("a", "x", "p")], "classification")
    check_examples([Example("a", "1", "p")], "pair")

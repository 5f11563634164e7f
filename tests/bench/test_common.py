"""bench/common.py: the data-set readers, the result header and the atomic result write."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from bench.common import missing_splits, read_labelled, read_texts, result_header, result_write
from tests.bench.labelled_data import INTENTS, write_labelled_dataset


def test_reads_text_category_and_text_label_files(tmp_path: Path) -> None:
    data = write_labelled_dataset(tmp_path / "data")
    rows = read_labelled(data / "train.csv")
    assert [(e.text, e.label) for e in rows[:2]] == [
        ("where is my new card", "card_arrival"),
        ("my card has not arrived yet", "card_arrival"),
    ]
    assert len(rows) == sum(len(p) for p in INTENTS.values())
    (tmp_path / "labels.csv").write_text("text,label\n  good  ,pos\nbad,neg\n", encoding="utf-8")
    assert [(e.text, e.label) for e in read_labelled(tmp_path / "labels.csv")] == [
        ("  good  ", "pos"),
        ("bad", "neg"),
    ]
    assert read_texts(tmp_path / "labels.csv") == ["good", "bad"]
    assert missing_splits(data) == []
    assert missing_splits(tmp_path) == ["train.csv", "test.csv"]


def test_a_bad_file_stops_the_benchmark_with_its_name(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("question,intent\nhi,greet\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=r"cannot read .*bad\.csv: .*must have a 'text' column"):
        read_labelled(bad)
    with pytest.raises(SystemExit, match="has no 'text' column"):
        read_texts(bad)


def test_header_names_the_script_commit_machine_and_torch_threads() -> None:
    import torch

    header = result_header("encode", device="cpu")
    assert header["script"] == "encode" and header["device"] == "cpu"
    assert header["git_commit"] is None or len(header["git_commit"].split("-")[0]) == 40
    assert header["torch_threads"] == torch.get_num_threads()
    assert header["cpus"] == os.cpu_count()
    assert {"created", "machine", "cpu", "torch_version"} <= set(header)


def test_result_write_replaces_the_file_whole(tmp_path: Path) -> None:
    out = tmp_path / "results" / "x.json"
    result_write(out, {"a": np.float32(0.5), "rows": np.arange(3)})
    assert json.loads(out.read_text()) == {"a": 0.5, "rows": [0, 1, 2]}
    with pytest.raises(TypeError, match="not JSON serializable"):
        result_write(out, {"a": object()})
    assert json.loads(out.read_text()) == {"a": 0.5, "rows": [0, 1, 2]}  # the old one stays
    assert [p.name for p in out.parent.iterdir()] == ["x.json"]  # no temp file left

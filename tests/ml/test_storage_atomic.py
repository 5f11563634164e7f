"""Writes under ML_ARTIFACTS_DIR replace whole files: readers see the old or the new, never half."""

from __future__ import annotations

from pathlib import Path

import pytest

from ml.storage import atomic_write, replace_synced
from ml.training import Example, read_examples_csv, write_examples_csv


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("disk full")  # stands in for a write failing half-way


def test_the_target_keeps_its_old_content_until_the_write_completes(tmp_path: Path) -> None:
    target = tmp_path / "meta.json"
    target.write_text("old")

    with atomic_write(target) as handle:
        handle.write("new, first half")
        assert target.read_text() == "old"  # a reader meanwhile sees the whole old file
        handle.write(" and second half")

    assert target.read_text() == "new, first half and second half"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["meta.json"]  # no temp left


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "blob.bin"
    target.write_bytes(b"old")

    with pytest.raises(RuntimeError), atomic_write(target, "wb") as handle:
        handle.write(b"half")
        raise RuntimeError("crash")

    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["blob.bin"]


def test_a_dataset_snapshot_rewritten_by_a_failing_run_keeps_the_previous_one(
    tmp_path: Path,
) -> None:
    target = tmp_path / "dataset.csv"
    first = [Example(text="refund please", label="refund"), Example(text="pin", label="card")]
    write_examples_csv(target, first)

    broken = [Example(text="fine", label="a"), Example(text=_Unprintable(), label="b")]  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="disk full"):
        write_examples_csv(target, broken)

    assert read_examples_csv(target) == first
    assert [p.name for p in tmp_path.iterdir()] == ["dataset.csv"]


def test_only_whole_file_modes_are_accepted(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="whole files"), atomic_write(tmp_path / "x", "a"):
        pass


def test_replace_synced_moves_a_finished_file_from_a_work_dir_beside_the_target(
    tmp_path: Path,
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "int8.onnx").write_bytes(b"model")
    (tmp_path / "model-int8.onnx").write_bytes(b"older model")

    replace_synced(work / "int8.onnx", tmp_path / "model-int8.onnx")

    assert (tmp_path / "model-int8.onnx").read_bytes() == b"model"
    assert not (work / "int8.onnx").exists()

"""A saved index records which encoder made its vectors, and refuses to mix spaces."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from ml.embeddings import encoder_space
from ml.embeddings.encoder import ModelDirError
from ml.index import IndexConfig, IndexSpaceMismatch, VectorIndex


def _saved(path: Path, space: str | None) -> Path:
    index = VectorIndex(IndexConfig(dim=4, space=space))
    index.upsert(np.array([1, 2]), np.eye(4, dtype=np.float32)[:2])
    index.save(path)
    return path


def test_the_space_is_saved_and_a_reader_of_that_space_loads_it(tmp_path):
    _saved(tmp_path, "minilm-aaaa")

    assert VectorIndex.saved_meta(tmp_path)["space"] == "minilm-aaaa"
    assert VectorIndex.load(tmp_path, IndexConfig(dim=4, space="minilm-aaaa")).space == (
        "minilm-aaaa"
    )
    assert VectorIndex.load(tmp_path).space == "minilm-aaaa"  # no config: taken from disk


def test_a_reader_of_another_space_is_refused_with_both_names(tmp_path):
    _saved(tmp_path, "minilm-aaaa")

    with pytest.raises(IndexSpaceMismatch) as caught:
        VectorIndex.load(tmp_path, IndexConfig(dim=4, space="mpnet-bbbb"))

    assert caught.value.saved == "minilm-aaaa" and caught.value.wanted == "mpnet-bbbb"
    assert "rebuild" in str(caught.value)


def test_an_index_saved_before_spaces_were_recorded_loads_as_unknown(tmp_path):
    _saved(tmp_path, None)
    meta_path = next(tmp_path.glob("v*/meta.json"))
    meta = json.loads(meta_path.read_text())
    del meta["space"]  # exactly what older versions wrote
    meta_path.write_text(json.dumps(meta))

    index = VectorIndex.load(tmp_path, IndexConfig(dim=4, space="minilm-aaaa"))

    assert index.space is None and len(index) == 2


def test_nothing_saved_has_no_meta(tmp_path):
    assert VectorIndex.saved_meta(tmp_path) is None


def test_encoder_space_follows_the_model_contents_not_its_location(tmp_path, tiny_model_dir):
    copy = tmp_path / tiny_model_dir.name
    shutil.copytree(tiny_model_dir, copy)
    assert encoder_space(copy) == encoder_space(tiny_model_dir)
    assert encoder_space(copy).startswith(f"{tiny_model_dir.name}-")
    (copy / "README.md").write_text("a model card edit changes no vector")
    assert encoder_space(copy) == encoder_space(tiny_model_dir)

    config = json.loads((copy / "config.json").read_text())
    config["retrained_marker"] = 1
    (copy / "config.json").write_text(json.dumps(config))
    assert encoder_space(copy) != encoder_space(tiny_model_dir)

    weights = next(p for p in copy.iterdir() if p.suffix in {".safetensors", ".bin"})
    shutil.copy2(next(tiny_model_dir.glob(weights.name)), weights)  # same name, same bytes
    (copy / "config.json").write_text((tiny_model_dir / "config.json").read_text())
    assert encoder_space(copy) == encoder_space(tiny_model_dir)
    with open(weights, "r+b") as handle:  # one byte of the weights changes: another model
        first = handle.read(1)
        handle.seek(0)
        handle.write(bytes([first[0] ^ 0xFF]))
    assert encoder_space(copy) != encoder_space(tiny_model_dir)


def test_encoder_space_of_a_missing_dir_names_the_setting(tmp_path):
    with pytest.raises(ModelDirError, match="ML_BASE_MODEL"):
        encoder_space(tmp_path / "nope")

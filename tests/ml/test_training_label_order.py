"""The artifact's manifest, not sorted names, fixes the label order and the positive label."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from ml.training import Example, TaskKind, TrainConfig, load_text_model, train_text_model
from ml.training.artifact import FORMAT_NAME, FORMAT_VERSION, MANIFEST_NAME, read_manifest

FILLER = "the a my please today account order help issue about with i need could you".split()


def relevance_pairs(n: int, seed: int) -> list[Example]:
    """Labels whose sorted order ("irrelevant" < "relevant") is not the order we ask for."""
    rng = random.Random(seed)  # noqa: S311 - test data
    examples = []
    for i in range(n):
        label = "relevant" if i % 2 else "irrelevant"
        topic = "refund money back" if label == "relevant" else "weather forecast sunny"
        query = " ".join(rng.sample(FILLER, 4))
        examples.append(Example(query, label, f"{topic} {' '.join(rng.sample(FILLER, 3))}"))
    return examples


def pair_config(base: Path, **overrides: object) -> TrainConfig:
    params: dict = {"epochs": 12, "batch_size": 16, "learning_rate": 1e-3, "seed": 7}
    params.update(task_type="pair", max_seq_length=64, early_stopping_patience=3, **overrides)
    return TrainConfig(base, **params)


def test_unsorted_label_order_and_positive_label_survive_save_and_load(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    config = pair_config(
        tiny_model_dir, labels=("relevant", "irrelevant"), positive_label="relevant"
    )
    result = train_text_model(
        config, relevance_pairs(120, 1), tmp_path / "m", validation=relevance_pairs(30, 2)
    )

    manifest = json.loads((tmp_path / "m" / MANIFEST_NAME).read_text())
    assert manifest["labels"] == ["relevant", "irrelevant"] == result.labels
    assert manifest["positive_label"] == "relevant"
    assert result.metrics["roc_auc"] >= 0.9  # AUROC of the positive label, not the last one
    model = load_text_model(tmp_path / "m")
    assert model.labels == ["relevant", "irrelevant"]
    assert model.positive_label == "relevant"
    assert model.task_type is TaskKind.PAIR
    queries = ["my order", "my order"]
    pairs = ["money back refund", "weather sunny forecast"]
    probs = model.predict_proba(queries, pairs)
    scores = model.score(queries, pairs)
    np.testing.assert_allclose(scores, probs[:, 0])
    assert scores[0] > 0.5 > scores[1]
    assert [label for label, _ in model.predict(queries, pairs)] == ["relevant", "irrelevant"]


def test_label_order_must_name_exactly_the_training_labels(tiny_model_dir: Path, tmp_path: Path):
    config = pair_config(tiny_model_dir, labels=("relevant", "maybe"))
    with pytest.raises(ValueError, match="exactly the training labels"):
        train_text_model(config, relevance_pairs(20, 1), tmp_path / "m")
    assert not (tmp_path / "m").exists()


def test_positive_label_must_be_a_training_label(tiny_model_dir: Path, tmp_path: Path) -> None:
    config = pair_config(tiny_model_dir, positive_label="yes")
    with pytest.raises(ValueError, match="positive_label='yes' is not a training label"):
        train_text_model(config, relevance_pairs(20, 1), tmp_path / "m")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"labels": ["a"]}, "at least 2 labels"),
        ({"labels": ["a", "a"]}, "repeats a label"),
        ({"labels": "ab"}, "must be a list"),
        ({"labels": ["a", "b"], "positive_label": "c"}, "is not one of labels"),
        ({"task_type": "embedding"}, "task_type='embedding' must be one of classification, pair"),
    ],
)
def test_config_rejects_bad_label_settings(params: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        TrainConfig.from_dict("/models/base", params)


def test_config_round_trips_label_settings() -> None:
    config = TrainConfig.from_dict(
        "/models/base", {"task_type": "pair", "labels": ["b", "a"], "positive_label": "b"}
    )
    assert config.task_type is TaskKind.PAIR and config.labels == ("b", "a")
    data = json.loads(json.dumps(config.to_dict()))
    assert data["task_type"] == "pair" and data["labels"] == ["b", "a"]
    assert TrainConfig.from_dict("/models/base", data) == config


def _manifest(folder: Path, **fields: object) -> Path:
    folder.mkdir()
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "max_seq_length": 64,
        **fields,
    }
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    return folder


def test_artifacts_written_before_the_positive_label_keep_their_score_label(
    tmp_path: Path,
) -> None:
    old_pair = _manifest(tmp_path / "pair", task_type="pair", labels=["0", "1"], score_label="1")
    old_multi = _manifest(
        tmp_path / "multi", task_type="classification", labels=["a", "b", "c"], score_label="c"
    )
    assert read_manifest(old_pair)["positive_label"] == "1"
    assert read_manifest(old_multi)["positive_label"] is None


def test_manifest_with_a_foreign_positive_label_is_corrupt(tmp_path: Path) -> None:
    folder = _manifest(tmp_path / "m", task_type="pair", labels=["0", "1"], positive_label="2")
    with pytest.raises(ValueError, match="positive_label '2' is not in labels"):
        read_manifest(folder)

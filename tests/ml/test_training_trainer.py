"""End-to-end fine-tuning of the tiny random BERT (tests/tiny_model.py): learning, artifacts,
LoRA, early stopping, determinism, cancellation and atomic writes."""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors import safe_open

from ml.training import (
    Example,
    LoraSettings,
    TrainConfig,
    TrainingCancelled,
    TrainResult,
    load_text_model,
    train_text_model,
)
from ml.training.data import stratified_split
from ml.training.loop import build_loss

KEYWORDS = {
    "card": ["card", "credit card", "debit card"],
    "password": ["password", "login", "reset password"],
    "refund": ["refund", "money back", "reimburse"],
}
FILLER = "the a my please today account order help issue about with i need could you".split()


def intent_examples(n: int, seed: int) -> list[Example]:
    """Filler sentences with one class keyword inserted: separable by a bag of words."""
    rng = random.Random(seed)  # noqa: S311 - test data
    examples = []
    for i in range(n):
        label = sorted(KEYWORDS)[i % 3]
        words = rng.sample(FILLER, 5)
        words.insert(rng.randrange(6), rng.choice(KEYWORDS[label]))
        examples.append(Example(" ".join(words), label))
    return examples


def pair_examples(n: int, seed: int) -> list[Example]:
    """Relevance lives only in text_pair, so this is learnable only if pairs are encoded."""
    rng = random.Random(seed)  # noqa: S311 - test data
    examples = []
    for i in range(n):
        query = " ".join(rng.sample(FILLER, 4))
        label = "1" if i % 2 else "0"
        topic = "refund money back" if label == "1" else "weather forecast sunny"
        examples.append(Example(query, label, f"{topic} {' '.join(rng.sample(FILLER, 3))}"))
    return examples


def tiny_config(base: Path, **overrides: object) -> TrainConfig:
    params: dict = {"epochs": 12, "batch_size": 16, "learning_rate": 1e-3, "seed": 7}
    params["early_stopping_patience"] = 3
    params.update(overrides)
    return TrainConfig(base, **params)


def leftovers(output_dir: Path) -> list[str]:
    return sorted(p.name for p in output_dir.parent.iterdir() if ".tmp-" in p.name)


def accuracy(predictions: list[tuple[str, float]], examples: list[Example]) -> float:
    return float(
        np.mean([label == e.label for (label, _), e in zip(predictions, examples, strict=True)])
    )


@pytest.fixture(scope="module")
def trained(
    tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[TrainResult, list[tuple[float, str]], list[Example]]:
    examples = intent_examples(150, seed=0)
    calls: list[tuple[float, str]] = []
    out = tmp_path_factory.mktemp("runs") / "intent"
    result = train_text_model(
        tiny_config(tiny_model_dir), examples, out, progress=lambda f, m: calls.append((f, m))
    )
    return result, calls, examples


def test_tiny_model_learns_separable_task(trained: tuple) -> None:
    result, _calls, _examples = trained
    assert result.labels == ["card", "password", "refund"]
    assert result.metrics["accuracy"] >= 0.9
    assert result.metrics["n_train"] == 135 and result.metrics["n_validation"] == 15
    pooler = 32 * 32 + 32  # BERT's unused [CLS] pooler stays frozen
    assert result.metrics["trainable_parameters"] == result.metrics["total_parameters"] - pooler
    assert result.device == "cpu"
    fresh = intent_examples(60, seed=99)
    model = load_text_model(result.artifact_dir, device="cpu")
    assert accuracy(model.predict([e.text for e in fresh]), fresh) >= 0.9


def test_loaded_model_outputs(trained: tuple) -> None:
    result, _calls, _examples = trained
    model = load_text_model(result.artifact_dir)
    assert (model.labels, model.task_type, model.device) == (result.labels, "classification", "cpu")
    probs = model.predict_proba(["reset password please", "card", "i want a refund"], batch_size=2)
    assert probs.dtype == np.float32 and probs.shape == (3, 3)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    assert [label for label, _ in model.predict(["my login is broken"])] == ["password"]
    assert model.predict_proba([]).shape == (0, 3)
    vectors = model.embed(["a card", "a refund", "a card"])
    assert vectors.dtype == np.float32 and vectors.shape == (3, 32)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(vectors[0], vectors[2], atol=1e-6)
    with pytest.raises(ValueError, match="omit text_pairs"):
        model.predict_proba(["x"], ["y"])


def test_artifact_layout_and_metrics_file(trained: tuple) -> None:
    result, _calls, _examples = trained
    files = {p.name for p in result.artifact_dir.iterdir()}
    assert {"config.json", "model.safetensors", "head.safetensors", "tokenizer.json"} <= files
    assert {"tessera_model.json", "metrics.json"} <= files
    assert leftovers(result.artifact_dir) == []
    manifest = json.loads((result.artifact_dir / "tessera_model.json").read_text())
    assert manifest["format_version"] == 1 and manifest["pooling"] == "mean"
    assert manifest["labels"] == result.labels and manifest["max_seq_length"] == 128
    assert manifest["base_model"] == "tiny-model0" and manifest["created_at"]
    stored = json.loads((result.artifact_dir / "metrics.json").read_text())
    assert stored == json.loads(json.dumps(result.metrics))
    matrix = np.array(stored["confusion_matrix"])
    assert matrix.shape == (3, 3) and matrix.sum() == stored["n_validation"]
    assert set(stored["per_class"]) == set(result.labels)


def test_best_epoch_is_restored(trained: tuple) -> None:
    """The saved weights are the best epoch's, not the last epoch's."""
    result, _calls, examples = trained
    assert result.best_epoch < result.epochs_run
    assert result.metrics["stop_reason"] == "early_stopping"
    _train, validation = stratified_split(examples, 0.1, seed=7)
    model = load_text_model(result.artifact_dir)
    probs = model.predict_proba([e.text for e in validation])
    targets = [result.labels.index(e.label) for e in validation]
    val_loss = float(-np.mean(np.log(probs[np.arange(len(targets)), targets])))
    history = result.metrics["history"]
    assert val_loss == pytest.approx(history[result.best_epoch - 1]["val_loss"], rel=1e-4)
    assert val_loss != pytest.approx(history[-1]["val_loss"], rel=1e-4)


def test_progress_is_reported_monotonically(trained: tuple) -> None:
    _result, calls, _examples = trained
    fractions = [fraction for fraction, _ in calls]
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions)
    assert sum("epoch" in message for _, message in calls) >= 3


def test_pair_task_uses_text_pair(tiny_model_dir: Path, tmp_path: Path) -> None:
    examples, validation = pair_examples(120, seed=1), pair_examples(30, seed=2)
    config = tiny_config(tiny_model_dir, task_type="pair", max_seq_length=64)
    result = train_text_model(config, examples, tmp_path / "pair", validation=validation)
    assert result.labels == ["0", "1"]
    assert result.metrics["n_train"] == 120 and result.metrics["n_validation"] == 30
    assert result.metrics["accuracy"] >= 0.9 and result.metrics["roc_auc"] >= 0.9
    model = load_text_model(result.artifact_dir)
    queries = ["my order", "my order"]
    probs = model.predict_proba(queries, ["money back refund", "weather sunny forecast"])
    assert probs.shape == (2, 2) and probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    scores = model.score(queries, ["money back refund", "weather sunny forecast"])
    np.testing.assert_allclose(scores, probs[:, 1])
    assert scores[0] > 0.5 > scores[1]
    with pytest.raises(ValueError, match="pass text_pairs"):
        model.predict_proba(queries)


def test_lora_trains_adapters_and_saves_a_plain_model(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tiny_config(tiny_model_dir, learning_rate=5e-3, lora=LoraSettings(r=4, alpha=8))
    result = train_text_model(config, intent_examples(150, seed=0), tmp_path / "lora")
    metrics = result.metrics
    head_params = 32 * 3 + 3
    lora_params = 2 * 2 * (32 * 4 + 4 * 32)  # 2 layers x (query, value) x (A + B)
    assert metrics["trainable_parameters"] == head_params + lora_params
    assert metrics["trainable_parameters"] < 0.01 * metrics["total_parameters"]
    assert metrics["accuracy"] >= 0.6

    weights = result.artifact_dir / "model.safetensors"
    with (
        safe_open(str(weights), "pt") as saved,
        safe_open(str(tiny_model_dir / "model.safetensors"), "pt") as base,
    ):
        assert not [k for k in saved.keys() if "lora" in k]  # noqa: SIM118 - safe_open API
        query = next(k for k in saved.keys() if k.endswith("layer.0.attention.self.query.weight"))
        assert not torch.equal(saved.get_tensor(query), base.get_tensor(query))  # merged
        key = next(k for k in saved.keys() if k.endswith("layer.0.attention.self.key.weight"))
        assert torch.equal(saved.get_tensor(key), base.get_tensor(key))  # not a LoRA target
    assert not (result.artifact_dir / "adapter_config.json").exists()

    monkeypatch.setitem(sys.modules, "peft", None)  # `import peft` now fails
    model = load_text_model(result.artifact_dir)
    fresh = intent_examples(30, seed=5)
    assert accuracy(model.predict([e.text for e in fresh]), fresh) >= 0.6


def test_early_stopping_stops_on_plateau(tiny_model_dir: Path, tmp_path: Path) -> None:
    config = tiny_config(tiny_model_dir, epochs=10, learning_rate=1e-9, early_stopping_patience=2)
    result = train_text_model(config, intent_examples(60, seed=0), tmp_path / "plateau")
    assert (result.epochs_run, result.best_epoch) == (3, 1)
    assert result.metrics["stop_reason"] == "early_stopping"
    assert len(result.metrics["history"]) == 3


def test_same_seed_gives_identical_metrics(tiny_model_dir: Path, tmp_path: Path) -> None:
    config = tiny_config(tiny_model_dir, epochs=2)
    examples = intent_examples(90, seed=0)
    runs = [train_text_model(config, examples, tmp_path / f"run{i}").metrics for i in range(2)]
    timing = ("train_seconds", "train_examples_per_second")
    for metrics in runs:
        for entry in metrics["history"]:
            entry.pop("seconds")
        for key in timing:
            metrics.pop(key)
    assert runs[0] == runs[1]
    assert runs[0]["history"][0]["train_loss"] != runs[0]["history"][1]["train_loss"]


def test_time_cap_saves_a_partial_run(tiny_model_dir: Path, tmp_path: Path) -> None:
    config = tiny_config(tiny_model_dir, epochs=5, max_train_seconds=1e-3)
    result = train_text_model(config, intent_examples(60, seed=0), tmp_path / "capped")
    assert result.epochs_run == 1 and result.metrics["stop_reason"] == "time_limit"
    assert (result.artifact_dir / "tessera_model.json").is_file()


def _counting_stop(after: int) -> Callable[[], bool]:
    calls = {"n": 0}

    def should_stop() -> bool:
        calls["n"] += 1
        return calls["n"] > after

    return should_stop


def test_cancel_mid_training_writes_nothing(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "cancelled"
    stop = _counting_stop(after=2)  # checked at the first step and at each epoch end
    with pytest.raises(TrainingCancelled):
        train_text_model(
            tiny_config(tiny_model_dir), intent_examples(60, seed=0), out, should_stop=stop
        )
    assert not out.exists() and leftovers(out) == []


def test_failure_while_saving_leaves_no_artifact(
    tiny_model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_write(path: Path, data: object) -> None:
        raise OSError(f"disk full while writing {path.name}")

    monkeypatch.setattr("ml.training.trainer.write_json", broken_write)
    out = tmp_path / "broken"
    out.mkdir()  # an empty placeholder is allowed and must survive a failed run untouched
    with pytest.raises(OSError, match="disk full"):
        train_text_model(tiny_config(tiny_model_dir, epochs=1), intent_examples(30, 0), out)
    assert out.is_dir() and not any(out.iterdir()) and leftovers(out) == []


def test_refuses_non_empty_output_dir(tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "taken"
    out.mkdir()
    (out / "model.safetensors").write_bytes(b"precious")
    with pytest.raises(ValueError, match="not empty"):
        train_text_model(tiny_config(tiny_model_dir), intent_examples(30, 0), out)
    assert (out / "model.safetensors").read_bytes() == b"precious"


@pytest.mark.parametrize(
    ("overrides", "validation", "needle"),
    [
        ({"max_seq_length": 256}, None, "max_position_embeddings=128"),
        ({"task_type": "pair"}, None, "has no text_pair"),
        ({}, [Example("new", "shipping")], "'shipping'"),
        ({}, [], "validation set is empty"),
    ],
)
def test_bad_requests_fail_before_training(
    tiny_model_dir: Path, tmp_path: Path, overrides: dict, validation: list | None, needle: str
) -> None:
    config = tiny_config(tiny_model_dir, **overrides)
    with pytest.raises(ValueError, match=needle):
        train_text_model(config, intent_examples(30, 0), tmp_path / "x", validation=validation)
    assert not (tmp_path / "x").exists()


def test_missing_base_model_is_named(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nowhere"):
        train_text_model(TrainConfig(tmp_path / "nowhere"), intent_examples(30, 0), tmp_path / "o")


def test_class_weighted_loss(tiny_model_dir: Path) -> None:
    ids = [0] * 6 + [1] * 3 + [2]
    loss = build_loss(tiny_config(tiny_model_dir), ids, 3)
    assert loss.weight.tolist() == pytest.approx([10 / 18, 10 / 9, 10 / 3])
    assert build_loss(tiny_config(tiny_model_dir, class_weighting=False), ids, 3).weight is None


def test_label_smoothing_softens_the_loss_of_a_confident_right_answer(tiny_model_dir: Path) -> None:
    ids = [0, 1, 2]
    logits, target = torch.tensor([[8.0, 0.0, 0.0]]), torch.tensor([0])
    plain = build_loss(tiny_config(tiny_model_dir), ids, 3)
    smoothed = build_loss(tiny_config(tiny_model_dir, label_smoothing=0.1), ids, 3)
    unweighted = build_loss(
        tiny_config(tiny_model_dir, label_smoothing=0.1, class_weighting=False), ids, 3
    )
    assert smoothed.label_smoothing == pytest.approx(0.1) and smoothed.weight is not None
    assert unweighted.label_smoothing == pytest.approx(0.1)
    # Smoothing asks for less than certainty, so a near-certain right answer costs more.
    assert float(smoothed(logits, target)) > float(plain(logits, target)) + 0.1


def test_load_errors_name_the_path(trained: tuple, tmp_path: Path) -> None:
    import shutil

    with pytest.raises(ValueError, match="missing-model"):
        load_text_model(tmp_path / "missing-model")
    empty = tmp_path / "empty-model"
    empty.mkdir()
    with pytest.raises(ValueError, match="empty-model"):
        load_text_model(empty)

    result, _calls, _examples = trained
    corrupt = tmp_path / "corrupt-model"
    shutil.copytree(result.artifact_dir, corrupt)
    (corrupt / "tessera_model.json").write_text("{not json")
    with pytest.raises(ValueError, match="corrupt-model"):
        load_text_model(corrupt)

    headless = tmp_path / "headless-model"
    shutil.copytree(result.artifact_dir, headless)
    (headless / "head.safetensors").unlink()
    with pytest.raises(ValueError, match="headless-model"):
        load_text_model(headless)

    truncated = tmp_path / "truncated-model"
    shutil.copytree(result.artifact_dir, truncated)
    weights = truncated / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:1000])
    with pytest.raises(ValueError, match="truncated-model"):
        load_text_model(truncated)

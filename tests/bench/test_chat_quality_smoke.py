"""bench/chat_quality.py end to end on a tiny synthetic data set and a tiny model."""

from __future__ import annotations

import csv
import importlib.util
import json
import random
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
INTENTS = {
    "card_arrival": ["where is my new card", "my card has not arrived yet", "card delivery"],
    "change_pin": ["how do I change my pin", "reset the pin code", "new pin number please"],
    "top_up": ["add money to my account", "top up failed", "how to top up by transfer"],
    "exchange_rate": ["what exchange rate do you use", "currency rate today", "fx rate"],
    "lost_card": ["I lost my card", "my card was stolen", "block my stolen card"],
    "refund": ["I want a refund", "refund not showing", "where is my refund"],
    "fees": ["why was I charged a fee", "extra fee on my statement", "what fees apply"],
    "close_account": ["close my account", "delete my account please", "cancel my account"],
}
PREFIXES = ["", "hi, ", "hello ", "please tell me ", "quick question: "]
SUFFIXES = ["", "?", " thanks", " asap", " today"]


def _write(path: Path, rows: list[tuple[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "category"])
        writer.writerows(rows)


def _dataset(folder: Path) -> Path:
    rng = random.Random(0)
    train, test = [], []
    for intent, phrases in INTENTS.items():
        variants = [f"{p}{phrase}{s}" for phrase in phrases for p in PREFIXES for s in SUFFIXES]
        rng.shuffle(variants)
        train += [(text, intent) for text in variants[:24]]
        test += [(text, intent) for text in variants[24:30]]
    folder.mkdir()
    _write(folder / "train.csv", train)
    _write(folder / "test.csv", test)
    return folder


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("chat_quality", ROOT / "bench/chat_quality.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_writes_every_reported_number(tmp_path: Path, tiny_model_dir: Path) -> None:
    data = _dataset(tmp_path / "data")
    out = tmp_path / "result.json"
    argv = [
        "--data",
        str(data),
        "--model",
        str(tiny_model_dir),
        "--epochs",
        "1",
        "--device",
        "cpu",
        "--out",
        str(out),
    ]

    assert _bench().main(argv) == 0

    result = json.loads(out.read_text())
    for key in (
        "intent_accuracy",
        "intent_macro_f1",
        "recall_at_1",
        "recall_at_5",
        "mrr",
        "oos_recall",
        "in_scope_accuracy",
        "baseline_logreg_accuracy",
    ):
        assert 0.0 <= result[key] <= 1.0, key
    assert result["n_test"] == 48
    assert result["n_train"] + result["n_validation"] == 192
    assert set(result["retrieval"]) >= {"dense", "dense_classifier"}
    assert result["hyperparameters"]["epochs"] == 1
    thresholds = result["thresholds"]
    assert 0.0 <= thresholds["suggest"] <= thresholds["answer"] <= 1.0
    assert len(result["oos"]["held_out_intents"]) == 2
    assert result["oos"]["n_test_oos"] == 12
    assert set(result["targets"]) >= {"intent_accuracy", "oos_recall", "in_scope_accuracy"}
    assert result["train_seconds"] > 0
    assert result["device"] == "cpu"


def test_missing_data_dir_is_skipped_with_a_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "result.json"
    assert _bench().main(["--data", str(tmp_path / "nope"), "--out", str(out)]) == 0
    assert "skipped" in capsys.readouterr().out
    assert not out.exists()


def test_labelled_oos_study_compares_both_classifiers(tmp_path: Path, tiny_model_dir: Path):
    data = _dataset(tmp_path / "data")
    out = tmp_path / "labelled.json"
    argv = ["--data", str(data), "--model", str(tiny_model_dir), "--epochs", "1"]
    argv += ["--device", "cpu", "--labelled-oos", "2", "--out", str(out)]

    assert _bench().main(argv) == 0

    result = json.loads(out.read_text())
    assert len(result["unseen_intents"]) == 2 and len(result["marked_intents"]) == 2
    assert not set(result["unseen_intents"]) & set(result["marked_intents"])
    assert result["n_in_scope_intents"] == 4
    assert result["n_test"] == {"in_scope": 24, "unseen": 12, "marked": 12}
    without, with_marked = result["variants"]["without_marked"], result["variants"]["with_marked"]
    assert with_marked["n_train"] > without["n_train"]
    assert without["test_mean_p_out_of_scope"]["marked"] == 0.0  # no such label to predict
    assert with_marked["test_mean_p_out_of_scope"]["marked"] > 0.0
    for variant in (without, with_marked):
        assert 0.0 <= variant["test"]["oos_recall"] <= 1.0
        assert 0.0 <= variant["test"]["in_scope_accuracy"] <= 1.0
        assert 0.0 <= variant["test_marked_oos_recall"] <= 1.0

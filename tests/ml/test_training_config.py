"""TrainConfig/LoraSettings: validation, from_dict/to_dict, and the torch-free import path."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ml.device import VALID_DEVICES
from ml.training import LoraSettings, TrainConfig
from ml.training.config import DEVICES

BASE = Path("/models/minilm")


def test_defaults_match_contract() -> None:
    config = TrainConfig(BASE)
    assert (config.task_type, config.epochs, config.batch_size) == ("classification", 4, 32)
    assert config.learning_rate == 5e-5 and config.metric == "macro_f1"
    assert config.lora is None and config.max_train_seconds is None
    assert (config.lr_schedule, config.warmup_fraction, config.restore_best_epoch) == (
        "linear",
        0.1,
        True,
    )
    assert LoraSettings() == LoraSettings(8, 16, 0.1, ("query", "value"))


def test_from_dict_converts_lora_and_numbers() -> None:
    config = TrainConfig.from_dict(
        "/models/minilm",
        {"epochs": 2, "learning_rate": 1, "lora": {"r": 4, "target_modules": ["query"]}},
    )
    assert config.base_model_dir == BASE
    assert config.learning_rate == 1.0 and isinstance(config.learning_rate, float)
    assert config.lora == LoraSettings(r=4, target_modules=("query",))


def test_from_dict_rejects_unknown_keys_by_name() -> None:
    with pytest.raises(ValueError, match="epoch, lr"):
        TrainConfig.from_dict(BASE, {"epoch": 3, "lr": 1e-4, "seed": 1})
    with pytest.raises(ValueError, match="rank"):
        TrainConfig.from_dict(BASE, {"lora": {"rank": 4}})


def test_to_dict_is_json_safe_and_round_trips() -> None:
    config = TrainConfig(BASE, task_type="pair", lora=LoraSettings(r=2), max_train_seconds=60)
    data = json.loads(json.dumps(config.to_dict()))
    assert data["lora"]["target_modules"] == ["query", "value"]
    assert data["base_model_dir"] == str(BASE)
    assert TrainConfig.from_dict(Path("/elsewhere"), data) == TrainConfig(
        Path("/elsewhere"), task_type="pair", lora=LoraSettings(r=2), max_train_seconds=60.0
    )


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"task_type": "regression"}, "task_type"),
        ({"metric": "auc"}, "metric"),
        ({"device": "tpu"}, "device"),
        ({"epochs": 0}, "epochs"),
        ({"epochs": True}, "epochs"),
        ({"batch_size": "32"}, "batch_size"),
        ({"learning_rate": 0}, "learning_rate"),
        ({"validation_fraction": 0.0}, "validation_fraction"),
        ({"warmup_fraction": 1.0}, "warmup_fraction"),
        ({"early_stopping_patience": -1}, "early_stopping_patience"),
        ({"max_train_seconds": 0}, "max_train_seconds"),
        ({"class_weighting": "yes"}, "class_weighting"),
        ({"group_by_length": 1}, "group_by_length"),
        ({"label_smoothing": 1.0}, "label_smoothing"),
        ({"label_smoothing": -0.1}, "label_smoothing"),
        ({"lr_schedule": "cosine"}, "lr_schedule"),
        ({"restore_best_epoch": "no"}, "restore_best_epoch"),
        ({"distillation_weight": 1.5}, "distillation_weight"),
        ({"distillation_temperature": 0}, "distillation_temperature"),
        ({"lora": {"r": 0}}, "r"),
        ({"lora": {"dropout": 1.5}}, "dropout"),
        ({"lora": {"target_modules": "query"}}, "target_modules"),
    ],
)
def test_invalid_values_name_the_field(params: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        TrainConfig.from_dict(BASE, params)


def test_device_choices_mirror_ml_device() -> None:
    assert DEVICES == VALID_DEVICES


def test_config_and_data_import_without_torch() -> None:
    """The web process validates hyper-parameters without loading torch/transformers."""
    code = (
        "import sys; import ml.training as t; t.TrainConfig.from_dict('/m', {'epochs': 1}); "
        "print(sorted(m for m in ('torch', 'transformers', 'sklearn') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"

"""Hyper-parameters for fine-tuning, validated up front so bad requests fail before any work.

This module imports neither torch nor transformers: the web process validates user-supplied
hyper-parameters with `TrainConfig.from_dict` without paying for the ML stack.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ml.training.kinds import TRAINABLE_KINDS, TaskKind

METRICS = ("macro_f1", "accuracy")
# "linear": warm-up then linear decay to 0; "constant": warm-up then the peak rate throughout.
LR_SCHEDULES = ("linear", "constant")
# Mirrors ml.device.VALID_DEVICES without importing torch (a test keeps the two equal).
DEVICES = ("auto", "cpu", "cuda")

_INT_FIELDS = ("epochs", "batch_size", "max_seq_length", "early_stopping_patience", "seed")
_FLOAT_FIELDS = (
    "learning_rate",
    "weight_decay",
    "warmup_fraction",
    "validation_fraction",
    "label_smoothing",
    "distillation_weight",
    "distillation_temperature",
)


def _check_int(owner: str, name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{owner}.{name} must be an integer, got {value!r}; pass e.g. {minimum}")
    if value < minimum:
        raise ValueError(f"{owner}.{name}={value} is too small; it must be >= {minimum}")


def _as_float(owner: str, name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{owner}.{name} must be a number, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class LoraSettings:
    """Low-rank adapters on the encoder's attention projections; merged away before saving."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.1
    target_modules: tuple[str, ...] = ("query", "value")

    def __post_init__(self) -> None:
        _check_int("LoraSettings", "r", self.r, 1)
        _check_int("LoraSettings", "alpha", self.alpha, 1)
        dropout = _as_float("LoraSettings", "dropout", self.dropout)
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"LoraSettings.dropout={dropout} must be in [0, 1)")
        object.__setattr__(self, "dropout", dropout)
        modules = self.target_modules
        if isinstance(modules, str) or not isinstance(modules, list | tuple) or not modules:
            raise ValueError(
                f"LoraSettings.target_modules={modules!r} must be a non-empty list of module "
                "names, e.g. ['query', 'value']"
            )
        if not all(isinstance(m, str) and m for m in modules):
            raise ValueError(f"LoraSettings.target_modules={modules!r} must contain only names")
        object.__setattr__(self, "target_modules", tuple(modules))

    @classmethod
    def from_dict(cls, params: dict[str, Any]) -> LoraSettings:
        """Build from stored JSON; unknown keys are an error so typos don't silently vanish."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(
                f"unknown LoRA setting(s): {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(known))}"
            )
        return cls(**params)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a fine-tuning run (together with the data and the seed).

    `learning_rate` is the encoder's; the freshly initialised classification head trains at
    `learning_rate * HEAD_LR_MULTIPLIER` (see ml.training.trainer) because it starts from noise.
    With `lora` set only the adapters (and the head) train: raise `learning_rate` to ~3e-4..1e-3.
    `early_stopping_patience=0` disables early stopping (all `epochs` run, best epoch still kept).
    `max_train_seconds` counts from the start of `train_text_model` (model loading included);
    when it runs out, the current epoch is cut short, evaluated, and the best epoch saved.
    `group_by_length` batches rows of similar length together (randomly drawn, see
    `ml.training.loop.training_batches`): much less padding, so CPU training runs faster.
    `label_smoothing` is cross-entropy's (0 = off); chat intents use 0.1, which raised Banking77
    validation accuracy (see HYPERPARAMETERS in bench/chatquality/config.py).
    `lr_schedule` is "linear" (warm-up over `warmup_fraction` of the steps, then linear decay to
    0) or "constant" (the same warm-up, then the peak rate; with `warmup_fraction=0`, the plain
    no-schedule fine-tune). `restore_best_epoch=False` saves the last epoch's weights instead of
    the best validation epoch's (a plain fine-tune; early stopping still ends the run).
    `distillation_weight` and `distillation_temperature` apply only when `train_text_model` gets
    teacher probabilities: the loss is (1 - w) x the hard-label loss + w x T^2 x KL(teacher^(1/T),
    renormalised || student at temperature T) (Hinton et al. 2015).
    `mixed_precision` trains (and evaluates) under bf16 autocast on CUDA (fp16 + grad scaling
    where bf16 is missing); it changes nothing on the CPU. Off by default: fine-tuning MiniLM
    on an H200 ran 2.2-2.8x faster in fp32 at the same accuracy (bench/results/
    chat_quality_gpu_*.json), because its small matrix products are launch-bound and autocast
    adds a cast kernel per weight per step. Turn it on for encoders big enough to be
    compute-bound (BERT-base and up).
    `labels` fixes the order of the head's outputs (None: sorted label names); it must name
    exactly the training labels. `positive_label` is the label whose probability is a pair's
    score (None: the last label of that order, "1" for 0/1 relevance data). Both are written to
    the artifact's manifest, so loading never infers them from sorted names.
    """

    base_model_dir: Path
    task_type: TaskKind = TaskKind.CLASSIFICATION
    epochs: int = 4
    batch_size: int = 32
    learning_rate: float = 5e-5
    weight_decay: float = 0.01
    warmup_fraction: float = 0.1
    max_seq_length: int = 128
    validation_fraction: float = 0.1
    early_stopping_patience: int = 2
    metric: str = "macro_f1"
    class_weighting: bool = True
    group_by_length: bool = True
    label_smoothing: float = 0.0
    lr_schedule: str = "linear"
    restore_best_epoch: bool = True
    distillation_weight: float = 0.5
    distillation_temperature: float = 2.0
    lora: LoraSettings | None = None
    labels: tuple[str, ...] | None = None
    positive_label: str | None = None
    seed: int = 42
    device: str = "auto"
    mixed_precision: bool = False
    max_train_seconds: float | None = field(default=None)

    def __post_init__(self) -> None:
        if not isinstance(self.base_model_dir, str | Path):
            raise ValueError(f"base_model_dir must be a path, got {self.base_model_dir!r}")
        object.__setattr__(self, "base_model_dir", Path(self.base_model_dir))
        if self.task_type not in TRAINABLE_KINDS:
            allowed = ", ".join(TRAINABLE_KINDS)
            raise ValueError(f"task_type={self.task_type!r} must be one of {allowed}")
        object.__setattr__(self, "task_type", TaskKind(self.task_type))
        self._check_labels()
        if self.metric not in METRICS:
            raise ValueError(f"metric={self.metric!r} must be one of {', '.join(METRICS)}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule={self.lr_schedule!r} must be one of {', '.join(LR_SCHEDULES)}"
            )
        if self.device not in DEVICES:
            raise ValueError(f"device={self.device!r} must be one of {', '.join(DEVICES)}")
        for name, minimum in zip(_INT_FIELDS, (1, 1, 8, 0, 0), strict=True):
            _check_int("TrainConfig", name, getattr(self, name), minimum)
        for name in _FLOAT_FIELDS:
            object.__setattr__(self, name, _as_float("TrainConfig", name, getattr(self, name)))
        if self.learning_rate <= 0:
            raise ValueError(f"learning_rate={self.learning_rate} must be > 0, e.g. 5e-5")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay={self.weight_decay} must be >= 0")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction={self.warmup_fraction} must be in [0, 1)")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing={self.label_smoothing} must be in [0, 1)")
        if not 0.0 <= self.distillation_weight <= 1.0:
            raise ValueError(f"distillation_weight={self.distillation_weight} must be in [0, 1]")
        if self.distillation_temperature <= 0:
            raise ValueError(
                f"distillation_temperature={self.distillation_temperature} must be > 0, e.g. 2"
            )
        if not 0.0 < self.validation_fraction < 1.0:
            raise ValueError(f"validation_fraction={self.validation_fraction} must be in (0, 1)")
        for flag in ("class_weighting", "group_by_length", "mixed_precision", "restore_best_epoch"):
            if not isinstance(getattr(self, flag), bool):
                raise ValueError(f"{flag} must be true or false, got {getattr(self, flag)!r}")
        if self.lora is not None and not isinstance(self.lora, LoraSettings):
            raise ValueError(f"lora must be LoraSettings or None, got {self.lora!r}")
        if self.max_train_seconds is not None:
            cap = _as_float("TrainConfig", "max_train_seconds", self.max_train_seconds)
            if cap <= 0:
                raise ValueError(f"max_train_seconds={cap} must be > 0 (or null for no cap)")
            object.__setattr__(self, "max_train_seconds", cap)

    def _check_labels(self) -> None:
        labels = self.labels
        if labels is not None:
            if isinstance(labels, str) or not isinstance(labels, list | tuple):
                raise ValueError(f"labels={labels!r} must be a list of label names or null")
            if len(labels) < 2 or not all(isinstance(x, str) and x for x in labels):
                raise ValueError(f"labels={labels!r} must name at least 2 labels")
            if len(set(labels)) != len(labels):
                raise ValueError(f"labels={labels!r} repeats a label")
            object.__setattr__(self, "labels", tuple(labels))
        positive = self.positive_label
        if positive is not None:
            if not isinstance(positive, str) or not positive:
                raise ValueError(f"positive_label={positive!r} must be a label name or null")
            if labels is not None and positive not in labels:
                raise ValueError(f"positive_label={positive!r} is not one of labels={labels!r}")

    def positive_label_among(self, labels: Sequence[str]) -> str | None:
        """The label whose probability scores a pair or a binary text; None for N > 2 classes.

        `positive_label` when set, else the last label of the order (for pair tasks and any
        two-label task): "1" of sorted 0/1 relevance labels, as before it was configurable.
        """
        if self.positive_label is not None:
            if self.positive_label not in labels:
                raise ValueError(
                    f"positive_label={self.positive_label!r} is not a training label {list(labels)}"
                )
            return self.positive_label
        if self.task_type.takes_pairs or len(labels) == 2:
            return labels[-1]
        return None

    @classmethod
    def from_dict(cls, base_model_dir: Path | str, params: dict[str, Any]) -> TrainConfig:
        """Build from user/stored hyper-parameters; unknown keys raise ValueError naming them.

        A `base_model_dir` key in `params` (as written by `to_dict`) is ignored: the explicit
        argument is authoritative, since the registry resolves where the base model lives now.
        `"lora": {...}` becomes `LoraSettings`; `"lora": null` means full fine-tuning.
        """
        known = {f.name for f in dataclasses.fields(cls)} - {"base_model_dir"}
        unknown = sorted(set(params) - known - {"base_model_dir"})
        if unknown:
            raise ValueError(
                f"unknown training parameter(s): {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(known))}"
            )
        kwargs = {k: v for k, v in params.items() if k in known}
        lora = kwargs.get("lora")
        if isinstance(lora, dict):
            kwargs["lora"] = LoraSettings.from_dict(lora)
        return cls(base_model_dir=Path(base_model_dir), **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe hyper-parameters; `from_dict(base_model_dir, to_dict())` round-trips."""
        data = dataclasses.asdict(self)
        data["base_model_dir"] = str(self.base_model_dir)
        data["task_type"] = str(self.task_type)
        if self.labels is not None:
            data["labels"] = list(self.labels)
        if self.lora is not None:
            data["lora"]["target_modules"] = list(self.lora.target_modules)
        return data

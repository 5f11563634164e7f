"""Fine-tune an encoder for text classification or text-pair scoring, and save it atomically.

`train_text_model` orchestrates: validate inputs, split, build the model, run epochs with
evaluation and early stopping (mechanics in ml.training.loop), restore the best epoch, merge LoRA,
and write the artifact (layout in ml.training.artifact).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml.device import resolve_device
from ml.training.artifact import METRICS_NAME, atomic_directory, check_output_dir, write_json
from ml.training.config import TrainConfig
from ml.training.data import (
    Example,
    check_examples,
    dataset_fingerprint,
    label_set,
    stratified_split,
)
from ml.training.loop import (
    TRAIN_SHARE,
    Fit,
    Monitor,
    TrainingCancelled,
    build_classifier,
    seed_everything,
)
from ml.training.model import load_tokenizer, save_text_model

__all__ = ["TrainResult", "TrainingCancelled", "train_text_model"]


@dataclass(frozen=True)
class TrainResult:
    """What the registry records about a finished run.

    `train_seconds` covers the epoch loop (training + per-epoch evaluation), not model loading
    or saving; `metrics` is also written to metrics.json in the artifact.
    """

    artifact_dir: Path
    labels: list[str]
    metrics: dict
    train_seconds: float
    device: str
    epochs_run: int
    best_epoch: int


def _prepare_data(
    config: TrainConfig, examples: Sequence[Example], validation: Sequence[Example] | None
) -> tuple[list[Example], list[Example], list[str]]:
    if not examples:
        raise ValueError("no training examples given")
    check_examples(examples, config.task_type, "training")
    if validation is None:
        train, held_out = stratified_split(examples, config.validation_fraction, config.seed)
    else:
        if not validation:
            raise ValueError("validation set is empty; pass None to split one off automatically")
        check_examples(validation, config.task_type, "validation")
        train, held_out = list(examples), list(validation)
    labels = label_set(train)
    if len(labels) < 2:
        raise ValueError(f"training data has a single label {labels!r}; need at least 2 labels")
    unseen = sorted(set(label_set(held_out)) - set(labels))
    if unseen:
        raise ValueError(f"validation label(s) {unseen} never occur in the training examples")
    if config.labels is not None:
        if set(config.labels) != set(labels):
            raise ValueError(
                f"labels={list(config.labels)} must name exactly the training labels {labels}"
            )
        labels = list(config.labels)
    return train, held_out, labels


def _check_teacher(
    config: TrainConfig,
    examples: Sequence[Example],
    validation: Sequence[Example] | None,
    teacher_probabilities: np.ndarray | None,
) -> np.ndarray | None:
    if teacher_probabilities is None:
        return None
    if validation is None or config.labels is None:
        raise ValueError(
            "distillation (teacher_probabilities) needs an explicit validation set and "
            "config.labels, so that its rows and columns match the training data"
        )
    teacher = np.asarray(teacher_probabilities, dtype=np.float32)
    expected = (len(examples), len(config.labels))
    if teacher.shape != expected:
        raise ValueError(
            f"teacher_probabilities has shape {teacher.shape}, expected {expected} "
            "(one row per training example, one column per label)"
        )
    if not np.all(np.isfinite(teacher)) or np.any(teacher < 0):
        raise ValueError("teacher_probabilities must be finite and non-negative")
    if not np.allclose(teacher.sum(axis=1), 1.0, atol=1e-3):
        raise ValueError("teacher_probabilities rows must sum to 1")
    return teacher


def train_text_model(
    config: TrainConfig,
    examples: Sequence[Example],
    output_dir: Path,
    *,
    validation: Sequence[Example] | None = None,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    teacher_probabilities: np.ndarray | None = None,
) -> TrainResult:
    """Fine-tune `config.base_model_dir` on `examples` and write the artifact to `output_dir`.

    Without `validation`, a stratified `validation_fraction` of `examples` is held out. Evaluates
    every epoch, early-stops on `config.metric`, restores the best epoch and saves it.
    `progress(fraction, message)` is called at most every PROGRESS_INTERVAL_S and at each epoch
    end; `should_stop()` at most every STOP_CHECK_INTERVAL_S (returning True raises
    TrainingCancelled). `output_dir` must not exist or be empty; it appears only when complete.
    Seeds the process-global RNGs (python, numpy, torch) with `config.seed`.
    `teacher_probabilities` (N, labels), row i for `examples[i]`, columns in `config.labels`'
    order, turns on distillation (see TrainConfig); it needs `validation` and `config.labels`
    so that rows and columns mean what the caller meant.
    """
    output_dir = Path(output_dir)
    check_output_dir(output_dir)
    if not (config.base_model_dir / "config.json").is_file():
        raise ValueError(
            f"base_model_dir {config.base_model_dir} has no config.json; point it at a "
            "save_pretrained model directory"
        )
    data = _prepare_data(config, examples, validation)
    teacher = _check_teacher(config, examples, validation, teacher_probabilities)
    train, held_out, labels = data
    positive_label = config.positive_label_among(labels)
    device = resolve_device(config.device)
    monitor = Monitor(progress, should_stop, config.max_train_seconds)
    monitor.report(0.0, "loading base model", force=True)
    seed_everything(config.seed)
    tokenizer = load_tokenizer(config.base_model_dir)
    classifier = build_classifier(config, len(labels), device)
    total_params = sum(p.numel() for p in classifier.parameters())
    fit = Fit(config, tokenizer, classifier, data, device, monitor, teacher)

    best_value, best_epoch, best_state, best_eval = -1.0, 0, None, {}
    history: list[dict[str, Any]] = []
    stop_reason, epochs_run, stale = "completed", 0, 0
    loop_start = time.monotonic()
    for epoch in range(1, config.epochs + 1):
        epochs_run = epoch
        train_loss, timed_out = fit.train_epoch(epoch)
        monitor.check_cancel(force=True)
        evaluation = fit.evaluate()
        value = evaluation[config.metric]
        history.append(
            {
                "epoch": epoch,
                "train_loss": train_loss,
                **{k: evaluation[k] for k in ("val_loss", "accuracy", "macro_f1")},
                "seconds": time.monotonic() - loop_start,
            }
        )
        if value > best_value:
            best_value, best_epoch, best_eval, best_state, stale = (
                value,
                epoch,
                evaluation,
                fit.snapshot(),
                0,
            )
        else:
            stale += 1
        monitor.report(
            fit.fraction(),
            f"epoch {epoch}/{config.epochs}: {config.metric}={value:.4f} "
            f"(best {best_value:.4f} at epoch {best_epoch})",
            force=True,
        )
        if timed_out:
            stop_reason = "time_limit"
            break
        patience = config.early_stopping_patience
        if patience and stale >= patience and epoch < config.epochs:
            stop_reason = "early_stopping"
            break
    train_seconds = time.monotonic() - loop_start

    if best_state is None:  # only possible if the metric were NaN
        raise RuntimeError(f"no epoch produced a finite {config.metric}; check the data")
    if config.restore_best_epoch:
        fit.restore(best_state)
    else:  # the last epoch's weights are what is saved; report that epoch's figures
        best_epoch, best_eval = epochs_run, evaluation
    if config.lora is not None:
        classifier.backbone = classifier.backbone.merge_and_unload()

    fingerprint = dataset_fingerprint(train)
    metrics: dict[str, Any] = {
        **best_eval,
        "n_train": len(train),
        "n_validation": len(held_out),
        "task_type": str(config.task_type),
        "metric": config.metric,
        "best_epoch": best_epoch,
        "epochs_run": epochs_run,
        "stop_reason": stop_reason,
        "history": history,
        "train_seconds": train_seconds,
        "train_examples_per_second": fit.seen / max(train_seconds, 1e-9),
        "trainable_parameters": sum(p.numel() for p in fit.trainable.values()),
        "total_parameters": total_params,
        "device": device,
        "dataset_fingerprint": fingerprint,
        "validation_fingerprint": dataset_fingerprint(held_out),
    }
    monitor.report(TRAIN_SHARE, "saving model", force=True)
    with atomic_directory(output_dir) as tmp:
        save_text_model(
            classifier,
            tokenizer,
            tmp,
            labels=labels,
            positive_label=positive_label,
            task_type=config.task_type,
            max_seq_length=config.max_seq_length,
            base_model_dir=config.base_model_dir,
            extra={"train_config": config.to_dict(), "dataset_fingerprint": fingerprint},
        )
        write_json(tmp / METRICS_NAME, metrics)
    monitor.report(1.0, f"done: {config.metric}={best_value:.4f} at epoch {best_epoch}", force=True)
    return TrainResult(
        artifact_dir=output_dir,
        labels=labels,
        metrics=metrics,
        train_seconds=train_seconds,
        device=device,
        epochs_run=epochs_run,
        best_epoch=best_epoch,
    )

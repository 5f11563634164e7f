"""Fine-tune an encoder for text classification or text-pair scoring, and save it atomically.

A plain PyTorch loop rather than `transformers.Trainer`: we need a custom head and pooling,
cooperative cancellation, a wall-clock cap, throttled progress callbacks that write to a DB row,
best-epoch state kept in memory, and an atomic artifact. With Trainer each of those is a callback
or subclass override plus accelerate/logging machinery we'd have to switch off; the loop is
shorter, deterministic, and easy to read end to end.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import get_linear_schedule_with_warmup

from ml.device import autocast, autocast_dtype, resolve_device
from ml.training.artifact import METRICS_NAME, atomic_directory, check_output_dir, write_json
from ml.training.config import TrainConfig
from ml.training.data import (
    Example,
    check_examples,
    class_weights,
    dataset_fingerprint,
    label_set,
    stratified_split,
)
from ml.training.metrics import compute_metrics
from ml.training.model import (
    EncoderClassifier,
    Features,
    collate,
    encode,
    load_backbone,
    load_tokenizer,
    run_model,
    save_text_model,
    softmax,
)

# The head starts from random init, the encoder from a good checkpoint: the head gets a larger lr.
HEAD_LR_MULTIPLIER = 20.0
PROGRESS_INTERVAL_S = 1.0  # progress() at most this often (plus at epoch ends), it hits the DB
STOP_CHECK_INTERVAL_S = 0.5  # should_stop() at most this often (plus at epoch ends)
EVAL_BATCH_SIZE = 64
MAX_GRAD_NORM = 1.0
TRAIN_SHARE = 0.95  # progress fraction spent training/evaluating; the rest is saving


class TrainingCancelled(Exception):
    """Raised when `should_stop()` returned True; nothing is written to output_dir."""


@dataclass(frozen=True)
class TrainResult:
    """What the registry records about a finished run."""

    artifact_dir: Path
    labels: list[str]
    metrics: dict
    train_seconds: float
    device: str
    epochs_run: int
    best_epoch: int


def seed_everything(seed: int) -> None:
    """Seed python, numpy and torch (process-global: training owns its worker process)."""
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 - third-party code may use the legacy global RNG
    torch.manual_seed(seed)  # also seeds every CUDA device


def build_loss(
    config: TrainConfig, train_label_ids: Sequence[int], num_labels: int, device: str = "cpu"
) -> nn.CrossEntropyLoss:
    """Cross-entropy, weighted by inverse label frequency when `config.class_weighting`."""
    if not config.class_weighting:
        return nn.CrossEntropyLoss()
    weights = torch.tensor(class_weights(train_label_ids, num_labels), dtype=torch.float32)
    return nn.CrossEntropyLoss(weight=weights.to(device))


def apply_lora(classifier: EncoderClassifier, config: TrainConfig) -> None:
    """Wrap the backbone with peft LoRA adapters; only adapters and the head stay trainable."""
    from peft import LoraConfig, TaskType, get_peft_model

    settings = config.lora
    if settings is None:
        raise ValueError("apply_lora needs config.lora to be set")
    lora_config = LoraConfig(
        task_type=TaskType.FEATURE_EXTRACTION,
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=list(settings.target_modules),
        bias="none",
    )
    try:
        classifier.backbone = get_peft_model(classifier.backbone, lora_config)
    except ValueError as exc:
        raise ValueError(
            f"LoRA target_modules={list(settings.target_modules)} do not match modules of "
            f"{config.base_model_dir}: {exc}"
        ) from exc


def _optimizer(classifier: EncoderClassifier, config: TrainConfig) -> torch.optim.AdamW:
    """AdamW; no weight decay on biases/LayerNorm; head at HEAD_LR_MULTIPLIER x lr."""
    groups: dict[tuple[bool, bool], list[nn.Parameter]] = {}
    for name, param in classifier.named_parameters():
        if not param.requires_grad:
            continue
        key = (name.startswith("head."), param.ndim >= 2)
        groups.setdefault(key, []).append(param)
    return torch.optim.AdamW(
        [
            {
                "params": params,
                "lr": config.learning_rate * (HEAD_LR_MULTIPLIER if is_head else 1.0),
                "weight_decay": config.weight_decay if decays else 0.0,
            }
            for (is_head, decays), params in sorted(groups.items())
        ]
    )


class _Monitor:
    """Throttled progress reports, cooperative cancellation and the wall-clock cap."""

    def __init__(
        self,
        progress: Callable[[float, str], None] | None,
        should_stop: Callable[[], bool] | None,
        max_seconds: float | None,
    ):
        self.progress = progress
        self.should_stop = should_stop
        self.max_seconds = max_seconds
        self.start = time.monotonic()
        self.last_report = -float("inf")
        self.last_check = -float("inf")

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def report(self, fraction: float, message: str, *, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress is not None and (force or now - self.last_report >= PROGRESS_INTERVAL_S):
            self.last_report = now
            self.progress(min(max(fraction, 0.0), 1.0), message)

    def check_cancel(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if self.should_stop is None:
            return
        if force or now - self.last_check >= STOP_CHECK_INTERVAL_S:
            self.last_check = now
            if self.should_stop():
                raise TrainingCancelled("training cancelled by should_stop()")

    def out_of_time(self) -> bool:
        return self.max_seconds is not None and self.elapsed() >= self.max_seconds


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
    return train, held_out, labels


def _features(tokenizer: Any, examples: Sequence[Example], config: TrainConfig) -> Features:
    pairs = [e.text_pair or "" for e in examples] if config.task_type == "pair" else None
    return encode(tokenizer, [e.text for e in examples], pairs, config.max_seq_length)


def train_text_model(
    config: TrainConfig,
    examples: Sequence[Example],
    output_dir: Path,
    *,
    validation: Sequence[Example] | None = None,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> TrainResult:
    """Fine-tune `config.base_model_dir` on `examples` and write the artifact to `output_dir`.

    Without `validation`, a stratified `validation_fraction` of `examples` is held out. Evaluates
    every epoch, early-stops on `config.metric`, restores the best epoch and saves it.
    `progress(fraction, message)` is called at most every PROGRESS_INTERVAL_S and at each epoch
    end; `should_stop()` at most every STOP_CHECK_INTERVAL_S (returning True raises
    TrainingCancelled). `output_dir` must not exist or be empty; it appears only when complete.
    """
    output_dir = Path(output_dir)
    check_output_dir(output_dir)
    if not (config.base_model_dir / "config.json").is_file():
        raise ValueError(
            f"base_model_dir {config.base_model_dir} has no config.json; point it at a "
            "save_pretrained model directory"
        )
    train, held_out, labels = _prepare_data(config, examples, validation)
    device = resolve_device(config.device)
    monitor = _Monitor(progress, should_stop, config.max_train_seconds)
    monitor.report(0.0, "loading base model", force=True)
    seed_everything(config.seed)

    tokenizer = load_tokenizer(config.base_model_dir)
    backbone = load_backbone(config.base_model_dir)
    max_positions = getattr(backbone.config, "max_position_embeddings", None)
    if max_positions is not None and config.max_seq_length > max_positions:
        raise ValueError(
            f"max_seq_length={config.max_seq_length} exceeds the model's "
            f"max_position_embeddings={max_positions}; lower it"
        )
    classifier = EncoderClassifier(backbone, len(labels))
    if config.lora is not None:
        apply_lora(classifier, config)
    classifier.to(device)
    total_params = sum(p.numel() for p in classifier.parameters())
    trainable = {n: p for n, p in classifier.named_parameters() if p.requires_grad}

    label_index = {label: i for i, label in enumerate(labels)}
    train_ids = [label_index[e.label] for e in train]
    val_ids = [label_index[e.label] for e in held_out]
    train_features = _features(tokenizer, train, config)
    val_features = _features(tokenizer, held_out, config)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0

    loss_fn = build_loss(config, train_ids, len(labels), device)
    optimizer = _optimizer(classifier, config)
    steps_per_epoch = -(-len(train) // config.batch_size)
    total_steps = steps_per_epoch * config.epochs
    scheduler = get_linear_schedule_with_warmup(
        optimizer, int(total_steps * config.warmup_fraction), total_steps
    )
    scaler = torch.amp.GradScaler("cuda", enabled=autocast_dtype(device) == torch.float16)
    shuffler = torch.Generator().manual_seed(config.seed)

    best_value, best_epoch, best_state, best_eval = -1.0, 0, None, {}
    history: list[dict[str, Any]] = []
    stop_reason, epochs_run, step, stale, seen = "completed", 0, 0, 0, 0
    loop_start = time.monotonic()
    for epoch in range(1, config.epochs + 1):
        epochs_run = epoch
        classifier.train()
        order = torch.randperm(len(train), generator=shuffler).tolist()
        losses: list[float] = []
        for start in range(0, len(order), config.batch_size):
            monitor.check_cancel()
            rows = order[start : start + config.batch_size]
            batch = collate([train_features[i] for i in rows], pad_id)
            batch = {k: v.to(device) for k, v in batch.items()}
            targets = torch.tensor([train_ids[i] for i in rows], device=device)
            with autocast(device):
                logits = classifier(**batch)
            loss = loss_fn(logits.float(), targets)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(trainable.values(), MAX_GRAD_NORM)
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            step += 1
            seen += len(rows)
            losses.append(float(loss.detach()))
            monitor.report(
                TRAIN_SHARE * step / total_steps,
                f"epoch {epoch}/{config.epochs} step {step}/{total_steps} loss {losses[-1]:.4f}",
            )
            if monitor.out_of_time():
                stop_reason = "time_limit"
                break
        monitor.check_cancel(force=True)

        logits_np = run_model(classifier, val_features, pad_id, device, EVAL_BATCH_SIZE)
        val_loss = float(
            nn.functional.cross_entropy(torch.from_numpy(logits_np), torch.tensor(val_ids))
        )
        evaluation = compute_metrics(val_ids, softmax(logits_np), labels, config.task_type)
        value = evaluation[config.metric]
        history.append(
            {
                "epoch": epoch,
                "train_loss": float(np.mean(losses)),
                "val_loss": val_loss,
                "accuracy": evaluation["accuracy"],
                "macro_f1": evaluation["macro_f1"],
                "seconds": time.monotonic() - loop_start,
            }
        )
        if value > best_value:
            best_value, best_epoch, stale = value, epoch, 0
            best_eval = {**evaluation, "val_loss": val_loss}
            best_state = {n: p.detach().to("cpu", copy=True) for n, p in trainable.items()}
        else:
            stale += 1
        monitor.report(
            TRAIN_SHARE * step / total_steps,
            f"epoch {epoch}/{config.epochs}: {config.metric}={value:.4f} "
            f"(best {best_value:.4f} at epoch {best_epoch})",
            force=True,
        )
        if stop_reason == "time_limit":
            break
        stale_limit = config.early_stopping_patience
        if stale_limit and stale >= stale_limit and epoch < config.epochs:
            stop_reason = "early_stopping"
            break
    train_seconds = time.monotonic() - loop_start

    if best_state is None:  # only possible if the metric were NaN
        raise RuntimeError(f"no epoch produced a finite {config.metric}; check the data")
    restored = classifier.load_state_dict(best_state, strict=False)
    if restored.unexpected_keys:
        raise RuntimeError(f"best-state restore hit unknown keys {restored.unexpected_keys}")
    if config.lora is not None:
        classifier.backbone = classifier.backbone.merge_and_unload()

    fingerprint = dataset_fingerprint(train)
    metrics: dict[str, Any] = {
        **best_eval,
        "n_train": len(train),
        "n_validation": len(held_out),
        "task_type": config.task_type,
        "metric": config.metric,
        "best_epoch": best_epoch,
        "epochs_run": epochs_run,
        "stop_reason": stop_reason,
        "history": history,
        "train_seconds": train_seconds,
        "train_examples_per_second": seen / max(train_seconds, 1e-9),
        "trainable_parameters": sum(p.numel() for p in trainable.values()),
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

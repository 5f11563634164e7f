"""Data splits and models of the chat quality benchmark: fine-tuning with a progress bar, one
pass for probabilities and embeddings, and the frozen-embedding logistic-regression baseline."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.chatquality.config import LOGREG_C_GRID
from bench.common import read_labelled, result_header


def load_split(data: Path, name: str) -> list[Any]:
    return read_labelled(data / f"{name}.csv")


def data_splits(args: argparse.Namespace) -> tuple[list[Any], list[Any], list[Any]]:
    """(fit, validation, test): validation is a stratified share of train, test stays apart."""
    from ml.training.data import stratified_split

    train = subsample(load_split(args.data, "train"), args.max_train, args.seed)
    test = subsample(load_split(args.data, "test"), args.max_test, args.seed)
    fit, val = stratified_split(train, args.val_fraction, args.seed)
    return fit, val, test


def run_header(args: argparse.Namespace, device: str) -> dict[str, Any]:
    """bench.common's header plus what this benchmark's results are compared by."""
    import torch

    return {
        **result_header("chat_quality", device=device),
        "dataset": args.data.resolve().name,
        "threads": torch.get_num_threads(),
        "seed": args.seed,
        "base_encoder_int8": bool(getattr(args, "int8", False)),
    }


def subsample(examples: Sequence[Any], n: int | None, seed: int) -> list[Any]:
    """About n examples with every label kept (stratified); all of them when n is None."""
    if n is None or n >= len(examples):
        return list(examples)
    from ml.training.data import stratified_split

    _, kept = stratified_split(examples, n / len(examples), seed)
    return kept


class ProgressBar:
    """A tqdm bar fed by train_text_model's progress(fraction, message) callback."""

    def __init__(self, desc: str) -> None:
        from tqdm import tqdm

        self.bar = tqdm(total=1000, desc=desc, unit="‰", leave=True)

    def __call__(self, fraction: float, message: str) -> None:
        self.bar.update(max(0, int(fraction * 1000) - self.bar.n))
        self.bar.set_postfix_str(message[:60], refresh=False)

    def close(self) -> None:
        self.bar.close()


def train_intent_model(
    base_model: Path,
    train: Sequence[Any],
    validation: Sequence[Any],
    out_dir: Path,
    hyperparameters: dict[str, Any],
    *,
    device: str,
    seed: int,
    desc: str,
) -> dict[str, Any]:
    """Fine-tune (or reuse a finished artifact in out_dir); returns its metrics.json."""
    from ml.training import TrainConfig, train_text_model

    metrics_path = out_dir / "metrics.json"
    if metrics_path.is_file():
        print(f"{desc}: reusing {out_dir}")
        return json.loads(metrics_path.read_text())
    config = TrainConfig.from_dict(base_model, {**hyperparameters, "seed": seed, "device": device})
    bar = ProgressBar(desc)
    try:
        result = train_text_model(config, train, out_dir, validation=validation, progress=bar)
    finally:
        bar.close()
    return result.metrics


def model_outputs(
    model: Any, texts: Sequence[str], *, desc: str, chunk: int = 512
) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities (N, L), unit embeddings (N, H)) from one pass of the fine-tuned model."""
    from tqdm import tqdm

    from ml.training.model import encode, run_model, softmax

    head_w = model.classifier.head.weight.detach().cpu().numpy().astype(np.float64)
    head_b = model.classifier.head.bias.detach().cpu().numpy().astype(np.float64)
    probs, embs = [], []
    for start in tqdm(range(0, len(texts), chunk), desc=desc, unit="chunk", leave=False):
        part = list(texts[start : start + chunk])
        features = encode(model.tokenizer, part, None, model.max_seq_length)
        pad_id = model.tokenizer.pad_token_id or 0
        pooled = run_model(model.classifier, features, pad_id, model.device, embeddings=True)
        # Same as predict_proba (dropout is off in eval), without a second forward pass.
        probs.append(softmax(pooled.astype(np.float64) @ head_w.T + head_b))
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        embs.append((pooled / np.maximum(norms, 1e-12)).astype(np.float32))
    width = model.classifier.hidden_size
    if not probs:
        return np.zeros((0, len(model.labels))), np.zeros((0, width), np.float32)
    return np.concatenate(probs), np.concatenate(embs)


def logreg_baseline(
    fit_x: np.ndarray,
    fit_y: Sequence[str],
    val_x: np.ndarray,
    val_y: Sequence[str],
    test_x: np.ndarray,
    test_y: Sequence[str],
) -> dict[str, Any]:
    """Frozen base embeddings + logistic regression, C picked on validation accuracy."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score

    by_c: dict[str, float] = {}
    best: tuple[float, float, Any] = (-1.0, 0.0, None)
    for c in LOGREG_C_GRID:
        clf = LogisticRegression(C=c, max_iter=2000)
        clf.fit(fit_x, list(fit_y))
        acc = float(accuracy_score(list(val_y), clf.predict(val_x)))
        by_c[str(c)] = acc
        if acc > best[0]:
            best = (acc, c, clf)
    _, c, clf = best
    predicted = clf.predict(test_x)
    return {
        "accuracy": float(accuracy_score(list(test_y), predicted)),
        "macro_f1": float(f1_score(list(test_y), predicted, average="macro")),
        "C": c,
        "val_accuracy_by_C": by_c,
    }

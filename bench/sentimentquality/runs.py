"""Training (through `ml.training.train_text_model`, as the product trains `sentiment.headline`)
and scoring (through `ml.serving.scoring.texts_score`, as the workers score articles) of each
technique, with trained models cached by everything that determines them."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.chatquality.models import ProgressBar, logreg_baseline
from bench.sentimentquality.data import Splits
from bench.sentimentquality.techniques import LABEL_ORDER, Technique

ONE_AT_A_TIME = 100  # test headlines scored one request each for the latency-bound figure
BULK_BATCH = 64  # texts per forward pass, the batch-scoring task's default


def _cache_key(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def train_model(
    splits: Splits,
    hyperparameters: dict[str, Any],
    *,
    seed: int,
    base_model: Path,
    device: str,
    work: Path,
    desc: str,
    teacher: np.ndarray | None = None,
) -> tuple[Path, dict[str, Any]]:
    """(artifact dir, metrics.json): trained now, or reused when the same run is in `work`."""
    from ml.training import TrainConfig, train_text_model
    from ml.training.data import dataset_fingerprint

    params = {**hyperparameters, "seed": seed, "device": device}
    key = _cache_key(
        {
            "params": params,
            "base_model": str(base_model),
            "train": dataset_fingerprint(splits.train),
            "validation": dataset_fingerprint(splits.validation),
            "teacher": None if teacher is None else hashlib.sha256(teacher.tobytes()).hexdigest(),
        }
    )
    out_dir = work / f"run-{key}"  # by content only: rows that share a model share the run
    metrics_path = out_dir / "metrics.json"
    if metrics_path.is_file():
        print(f"{desc}: reusing {out_dir}")
        return out_dir, json.loads(metrics_path.read_text())
    config = TrainConfig.from_dict(base_model, params)
    bar = ProgressBar(desc)
    try:
        result = train_text_model(
            config,
            splits.train,
            out_dir,
            validation=splits.validation,
            progress=bar,
            teacher_probabilities=teacher,
        )
    finally:
        bar.close()
    return out_dir, result.metrics


def scores(predicted: Sequence[str], truth: Sequence[str]) -> dict[str, Any]:
    from sklearn.metrics import accuracy_score, f1_score

    if not truth:
        return {"accuracy": None, "macro_f1": None, "n": 0}
    return {
        "accuracy": float(accuracy_score(truth, predicted)),
        "macro_f1": float(
            f1_score(truth, predicted, labels=LABEL_ORDER, average="macro", zero_division=0)
        ),
        "n": len(truth),
    }


def served_evaluation(model: Any, splits: Splits) -> dict[str, Any]:
    """Quality on validation / test / all-agree test and headlines/s, all via texts_score.

    Bulk: the whole test split in one call (batched forward passes); one at a time: the first
    ONE_AT_A_TIME test headlines, a call each (what a lone request costs).
    """
    from ml.serving.scoring import texts_score

    def labels_of(rows: Sequence[Any]) -> list[str]:
        return [s.label for s in texts_score(model, [e.text for e in rows], batch_size=BULK_BATCH)]

    texts = [e.text for e in splits.test]
    texts_score(model, texts[:BULK_BATCH], batch_size=BULK_BATCH)  # warm-up: first-call costs
    started = time.perf_counter()
    test_labels = [s.label for s in texts_score(model, texts, batch_size=BULK_BATCH)]
    bulk = len(texts) / (time.perf_counter() - started)
    single_texts = texts[:ONE_AT_A_TIME]
    started = time.perf_counter()
    for text in single_texts:
        texts_score(model, [text], batch_size=BULK_BATCH)
    single = len(single_texts) / (time.perf_counter() - started)
    allagree = {e.text for e in splits.allagree_test}
    agreed = [
        (p, e.label) for p, e in zip(test_labels, splits.test, strict=True) if e.text in allagree
    ]
    return {
        "validation": scores(labels_of(splits.validation), [e.label for e in splits.validation]),
        "test": scores(test_labels, [e.label for e in splits.test]),
        "allagree_test": scores([p for p, _ in agreed], [t for _, t in agreed]),
        "headlines_per_s": {"bulk": bulk, "one_at_a_time": single},
    }


class FrozenLogreg:
    """Base encoder embeddings + a fitted logistic regression, with TextModel's predict_proba."""

    def __init__(self, encoder: Any, classifier: Any) -> None:
        self.encoder, self.classifier = encoder, classifier
        self.labels = [str(c) for c in classifier.classes_]

    def predict_proba(self, texts: Sequence[str], text_pairs: Any = None, *, batch_size: int = 64):
        if not texts:
            return np.zeros((0, len(self.labels)), dtype=np.float32)
        vectors = self.encoder.encode(list(texts), batch_size=batch_size)
        return self.classifier.predict_proba(vectors).astype(np.float32)


def run_frozen_logreg(splits: Splits, base_model: Path, device: str) -> dict[str, Any]:
    from sklearn.linear_model import LogisticRegression

    from ml.embeddings import Encoder, EncoderConfig

    encoder = Encoder(EncoderConfig(model_dir=base_model, device=device))
    started = time.monotonic()
    vectors = {
        name: encoder.encode([e.text for e in rows], show_progress=True)
        for name, rows in (("train", splits.train), ("validation", splits.validation))
    }
    fitted = logreg_baseline(
        vectors["train"],
        [e.label for e in splits.train],
        vectors["validation"],
        [e.label for e in splits.validation],
        vectors["validation"][:1],
        [splits.validation[0].label],
    )
    classifier = LogisticRegression(C=fitted["C"], max_iter=2000)
    classifier.fit(vectors["train"], [e.label for e in splits.train])
    train_seconds = time.monotonic() - started
    return {
        **served_evaluation(FrozenLogreg(encoder, classifier), splits),
        "train_seconds": train_seconds,
        "hyperparameters": {"C": fitted["C"], "val_accuracy_by_C": fitted["val_accuracy_by_C"]},
    }


def run_technique(
    technique: Technique, splits: Splits, *, seed: int, base_model: Path, device: str, work: Path
) -> dict[str, Any]:
    """One row of the result table."""
    from ml.training import TextModelEnsemble, load_text_model

    if technique.kind == "frozen_logreg":
        return run_frozen_logreg(splits, base_model, device)
    common = {"base_model": base_model, "device": device, "work": work}
    teacher = None
    extra: dict[str, Any] = {}
    if technique.kind == "distilled":
        members = [
            train_model(
                splits,
                technique_teacher_params(technique),
                seed=seed + i,
                desc=f"teacher-seed{seed + i}",
                **common,
            )[0]
            for i in range(2)
        ]
        ensemble = TextModelEnsemble([load_text_model(m, device) for m in members])
        started = time.monotonic()
        teacher = ensemble.predict_proba([e.text for e in splits.train], batch_size=BULK_BATCH)
        extra["teacher_scoring_seconds"] = time.monotonic() - started
        if ensemble.labels != LABEL_ORDER:
            raise RuntimeError(f"teacher labels {ensemble.labels} != {LABEL_ORDER}")
    runs = [
        train_model(
            splits,
            technique.hyperparameters,
            seed=seed + i,
            desc=f"{technique.name}-seed{seed + i}",
            teacher=teacher,
            **common,
        )
        for i in range(technique.seeds)
    ]
    paths = [path for path, _ in runs]
    return {
        **served_evaluation(_served_model(paths, device, int8=False), splits),
        **_int8_evaluation(paths, device, splits),
        **extra,
        "train_seconds": sum(m["train_seconds"] for _, m in runs),
        "epochs_run": [m["epochs_run"] for _, m in runs],
        "best_epoch": [m["best_epoch"] for _, m in runs],
        "history": [m["history"] for _, m in runs],
        "hyperparameters": {k: v for k, v in technique.hyperparameters.items() if k != "labels"},
    }


def _served_model(paths: Sequence[Path], device: str, *, int8: bool) -> Any:
    from ml.training import TextModelEnsemble, load_text_model

    models = [load_text_model(path, device, quantize_int8=int8) for path in paths]
    return models[0] if len(models) == 1 else TextModelEnsemble(models)


def _int8_evaluation(paths: Sequence[Path], device: str, splits: Splits) -> dict[str, Any]:
    """The same models with int8 Linear layers, as the product serves them on a CPU
    (ML_CLASSIFIER_INT8=auto); nothing on a GPU, where int8 dynamic quantisation does not run."""
    from ml.device import resolve_device

    if resolve_device(device) != "cpu":
        return {}
    return {"int8": served_evaluation(_served_model(paths, device, int8=True), splits)}


def technique_teacher_params(technique: Technique) -> dict[str, Any]:
    """A distilled row's teacher members train like the student, without distillation."""
    return {
        k: v
        for k, v in technique.hyperparameters.items()
        if k not in ("distillation_weight", "distillation_temperature")
    }

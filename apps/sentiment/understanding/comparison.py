"""Side-by-side quality of `sentiment.headline` versions on the same held-out analyst labels.

Analysts mark some labels held out (ArticleLabel.held_out): those headlines are never trained
on, so every version is judged on the same unseen articles before a person promotes one. Each
version's report is cached per (version, held-out set): the set only changes when an analyst
labels, and a version's artifact never changes.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.cache import cache

from apps.sentiment.models import ArticleLabel
from apps.sentiment.understanding.training import HEADLINE_TASK, LABELS
from ml.registry.models import ModelVersion
from ml.serving.scoring import texts_score
from ml.training import TaskKind, compute_metrics, load_text_model

logger = logging.getLogger(__name__)

CACHE_SECONDS = 24 * 3600
MAX_VERSIONS = 6  # columns that still fit side by side


@dataclass(frozen=True)
class HeldOutSet:
    headlines: list[str]
    labels: list[str]

    @property
    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for text, label in zip(self.headlines, self.labels, strict=True):
            digest.update(f"{label}\t{text}\n".encode())
        return digest.hexdigest()[:16]


@dataclass(frozen=True)
class VersionReport:
    """One version on the held-out set; `error` says why there are no figures."""

    version: ModelVersion
    accuracy: float | None = None
    macro_f1: float | None = None
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)
    error: str = ""


@dataclass(frozen=True)
class VersionComparison:
    articles: int
    label_counts: dict[str, int]
    reports: list[VersionReport]

    @property
    def per_class_rows(self) -> list[dict[str, Any]]:
        """One row per label: its support and each version's precision / recall / F1."""
        return [
            {
                "label": label,
                "support": self.label_counts.get(label, 0),
                "cells": [report.per_class.get(label, {}) for report in self.reports],
            }
            for label in LABELS
        ]

    @property
    def best_macro_f1(self) -> float | None:
        scores = [r.macro_f1 for r in self.reports if r.macro_f1 is not None]
        return max(scores) if scores else None


def held_out_set() -> HeldOutSet:
    rows = list(
        ArticleLabel.objects.filter(held_out=True)
        .order_by("article_id")
        .values_list("article__title", "label")
    )
    return HeldOutSet(headlines=[title for title, _ in rows], labels=[label for _, label in rows])


def comparable_versions() -> list[ModelVersion]:
    """Ready versions, newest first (production always among them)."""
    versions = list(
        ModelVersion.objects.filter(task=HEADLINE_TASK, status=ModelVersion.Status.READY).order_by(
            "-version"
        )[:MAX_VERSIONS]
    )
    production = ModelVersion.objects.filter(
        task=HEADLINE_TASK, stage=ModelVersion.Stage.PRODUCTION
    ).first()
    if production is not None and production not in versions:
        versions = [*versions[: MAX_VERSIONS - 1], production]
    return versions


def evaluate_artifact(artifact_dir: Path, held_out: HeldOutSet) -> dict[str, Any]:
    """accuracy, macro_f1 and per_class of a saved model on the held-out headlines."""
    model = load_text_model(
        Path(artifact_dir), device=settings.ML_DEVICE, quantize_int8=settings.ML_CLASSIFIER_INT8
    )
    scores = texts_score(model, held_out.headlines, batch_size=16, top_k=len(model.labels))
    probabilities = [
        [dict(score.probabilities).get(label, 0.0) for label in model.labels] for score in scores
    ]
    unknown = sorted(set(held_out.labels) - set(model.labels))
    if unknown:
        raise ValueError(f"the model has no output for {', '.join(unknown)}")
    truth = [model.labels.index(label) for label in held_out.labels]
    metrics = compute_metrics(truth, probabilities, model.labels, TaskKind.CLASSIFICATION)
    return {
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "per_class": {
            label: metrics["per_class"][label] for label in LABELS if label in model.labels
        },
    }


def version_report(version: ModelVersion, held_out: HeldOutSet) -> VersionReport:
    key = f"sentiment:compare:{version.id}:{held_out.fingerprint}"
    figures = cache.get(key)
    if figures is None:
        try:
            figures = evaluate_artifact(Path(version.artifact_path), held_out)
        except (OSError, ValueError) as exc:  # artifact missing or incompatible: say so
            logger.warning("cannot evaluate %s on held-out labels: %s", version, exc)
            return VersionReport(version=version, error=f"{type(exc).__name__}: {exc}")
        cache.set(key, figures, CACHE_SECONDS)
    return VersionReport(version=version, **figures)


def versions_compare(versions: list[ModelVersion] | None = None) -> VersionComparison:
    """Each version's accuracy, macro-F1 and per-class report on the held-out labels."""
    held_out = held_out_set()
    versions = comparable_versions() if versions is None else versions
    counts = {label: held_out.labels.count(label) for label in LABELS}
    if not held_out.headlines:
        return VersionComparison(articles=0, label_counts=counts, reports=[])
    return VersionComparison(
        articles=len(held_out.headlines),
        label_counts=counts,
        reports=[version_report(version, held_out) for version in versions],
    )

"""The `sentiment.headline` model task: its training data and its registration spec.

Training data = the shipped seed headlines (written by the project, so a first model trains
before any analyst labels exist) + every analyst label that is not held out. Held-out labels
are never trained on: they are the common test set on which versions are compared.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from django.conf import settings

from apps.sentiment.models import ArticleLabel, Sentiment
from ml.registry.catalog import TrainingTaskSpec
from ml.training import Example, TaskKind

HEADLINE_TASK = "sentiment.headline"
SEED_HEADLINES = Path(__file__).resolve().parent / "seed_headlines.csv"
LABELS = tuple(label.value for label in Sentiment)


@cache
def seed_examples() -> tuple[Example, ...]:
    """The shipped seed set (lines starting with # are notes); a bad label fails loudly."""
    with SEED_HEADLINES.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        examples = []
        for line_no, row in enumerate(rows, start=2):
            text, label = (row.get("text") or "").strip(), (row.get("label") or "").strip()
            if not text or label not in LABELS:
                raise ValueError(f"{SEED_HEADLINES} row {line_no}: need text and one of {LABELS}")
            examples.append(Example(text=text, label=label))
    return tuple(examples)


def headline_dataset() -> list[Example]:
    """Seed headlines + analyst labels not held out; an analyst's label wins over a seed's."""
    by_text: dict[str, str] = {example.text: example.label for example in seed_examples()}
    analyst = (
        ArticleLabel.objects.filter(held_out=False)
        .order_by("article_id")
        .values_list("article__title", "label")
    )
    for title, label in analyst:
        by_text[title.strip()] = label
    return [Example(text=text, label=label) for text, label in by_text.items() if text]


def headline_task_spec() -> TrainingTaskSpec:
    return TrainingTaskSpec(
        name=HEADLINE_TASK,
        task_type=TaskKind.CLASSIFICATION,
        description="Headline -> positive / neutral / negative, from seed headlines and "
        "analysts' labels (held-out labels excluded)",
        build_dataset=headline_dataset,
        # A fixed output order, so p_positive/p_neutral/p_negative never depend on which
        # labels a data snapshot happens to contain.
        default_hyperparameters={
            **settings.SENTIMENT_HEADLINE_HYPERPARAMETERS,
            "labels": list(LABELS),
        },
    )

"""The `sentiment.headline` training set: seed headlines + analysts' labels, never held-out ones."""

from __future__ import annotations

from collections import Counter

import pytest

from apps.sentiment.models import ArticleLabel
from apps.sentiment.understanding.training import (
    HEADLINE_TASK,
    LABELS,
    headline_dataset,
    seed_examples,
)
from ml.registry.catalog import training_task_get
from ml.training import TaskKind, TrainConfig
from tests.sentiment.factories import ArticleFactory

pytestmark = pytest.mark.django_db


def test_seed_set_is_balanced_and_covers_every_label():
    counts = Counter(example.label for example in seed_examples())
    assert set(counts) == set(LABELS)
    assert sum(counts.values()) >= 200
    assert max(counts.values()) - min(counts.values()) <= 10
    assert len({example.text for example in seed_examples()}) == sum(counts.values())


def test_dataset_adds_analyst_labels_but_not_held_out_ones():
    trained = ArticleFactory(title="Acme Corp shares collapse after fraud charges")
    held = ArticleFactory(title="Acme Corp opens a new office in Oslo")
    ArticleLabel.objects.create(article=trained, label="negative")
    ArticleLabel.objects.create(article=held, label="neutral", held_out=True)

    texts = {example.text: example.label for example in headline_dataset()}

    assert texts[trained.title] == "negative"
    assert held.title not in texts
    assert len(texts) == len(seed_examples()) + 1


def test_an_analyst_label_overrides_the_seed_label_of_the_same_headline():
    seed = next(example for example in seed_examples() if example.label == "positive")
    article = ArticleFactory(title=seed.text)
    ArticleLabel.objects.create(article=article, label="neutral")

    labels = [example.label for example in headline_dataset() if example.text == seed.text]

    assert labels == ["neutral"]


def test_task_is_registered_with_fixed_label_order_and_valid_defaults(settings):
    spec = training_task_get(HEADLINE_TASK)
    assert spec is not None and spec.task_type == TaskKind.CLASSIFICATION
    assert spec.default_hyperparameters["labels"] == ["positive", "neutral", "negative"]
    config = TrainConfig.from_dict(settings.ML_BASE_MODEL, dict(spec.default_hyperparameters))
    assert (config.epochs, config.batch_size, config.max_seq_length) == (4, 16, 64)
    assert config.label_smoothing == 0.1

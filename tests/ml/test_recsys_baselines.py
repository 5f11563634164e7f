"""EASE is the closed-form solution it claims to be; item-kNN and text similarity on tiny data."""

from __future__ import annotations

import numpy as np

from ml.recsys import Interaction, InteractionData
from ml.recsys.baselines import EASE, ItemKNN, TextSimilarity

ITEMS = {i: f"item {i}" for i in range(5)}
BASKETS = {"a": [0, 1, 2], "b": [0, 1], "c": [1, 2, 3], "d": [3, 4], "e": [0, 2, 4]}


def data() -> InteractionData:
    rows = [
        Interaction(user, item, float(t))
        for user, items in BASKETS.items()
        for t, item in enumerate(items)
    ]
    return InteractionData.from_interactions(rows, ITEMS)


def test_ease_column_is_the_ridge_regression_without_the_item_itself() -> None:
    d = data()
    l2 = 2.0
    weights = EASE.fit(d, l2=l2).weights
    x = d.matrix().toarray().astype(np.float64)
    for j in range(d.n_items):
        others = [i for i in range(d.n_items) if i != j]
        a = x[:, others]
        # argmin ||x_j - A b||^2 + l2 ||b||^2
        expected = np.linalg.solve(a.T @ a + l2 * np.eye(len(others)), a.T @ x[:, j])
        assert weights[j, j] == 0.0
        np.testing.assert_allclose(weights[others, j], expected, rtol=1e-4, atol=1e-5)


def test_ease_scores_are_history_times_weights() -> None:
    d = data()
    ease = EASE.fit(d, l2=1.0)
    scores = ease.scores(np.array([0]), [np.array([0, 1])])
    np.testing.assert_allclose(scores[0], ease.weights[0] + ease.weights[1], rtol=1e-6)


def test_item_knn_is_cosine_between_item_columns() -> None:
    d = data()
    knn = ItemKNN.fit(d, neighbours=10)
    x = d.matrix().toarray()
    norms = np.linalg.norm(x, axis=0)
    cosine = (x.T @ x) / np.outer(norms, norms)
    np.fill_diagonal(cosine, 0)
    np.testing.assert_allclose(knn.similarity.toarray(), cosine, rtol=1e-5)
    few = ItemKNN.fit(d, neighbours=1).similarity.toarray()
    assert ((few > 0).sum(axis=1) == 1).all()
    np.testing.assert_allclose(few.max(axis=1), cosine.max(axis=1), rtol=1e-5)


def test_text_similarity_scores_items_near_the_recent_mean() -> None:
    vectors = np.eye(5, dtype=np.float32)
    vectors[4] = (vectors[0] + vectors[1]) / np.sqrt(2)
    text = TextSimilarity(vectors, recent=2)
    scores = text.scores(np.array([0]), [np.array([3, 0, 1])])  # recent two: 0 and 1
    assert scores[0].argmax() == 4
    assert scores[0, 3] == 0.0

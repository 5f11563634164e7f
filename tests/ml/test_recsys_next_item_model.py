"""The next-item model learns a sequential rule popularity cannot see, saves and loads whole,
and scores items it never saw from their text vectors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ml.recsys import Interaction, InteractionData, NextItemConfig
from ml.recsys.artifact import load_next_item_model, save_next_item_model
from ml.recsys.training import train_next_item

N_ITEMS = 30
SMALL = {
    "dim": 32,
    "layers": 1,
    "heads": 2,
    "max_len": 8,
    "dropout": 0.1,
    "epochs": 25,
    "patience": 0,
    "batch_size": 32,
    "learning_rate": 5e-3,
    "device": "cpu",
}


def cyclic_data(users: int = 150, length: int = 7, seed: int = 0) -> InteractionData:
    """Each user walks the catalogue in steps of one (item i, then i + 1, ...) from a random
    start: the next item is always predictable from the last, and every item is about as
    popular as any other."""
    rng = np.random.default_rng(seed)
    rows = []
    for user in range(users):
        start = int(rng.integers(N_ITEMS))
        for step in range(length):
            rows.append(Interaction(f"u{user}", (start + step) % N_ITEMS, float(step)))
    return InteractionData.from_interactions(rows, {i: f"item {i}" for i in range(N_ITEMS)})


def text_vectors(seed: int = 1, n: int = N_ITEMS) -> np.ndarray:
    vectors = np.random.default_rng(seed).normal(size=(n, 16)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def trained():  # noqa: ANN201
    config = NextItemConfig.from_dict({**SMALL, "blend": False, "refit": False})
    return config, train_next_item(config, cyclic_data(), text_vectors())


def test_learns_the_sequential_rule_far_better_than_popularity(trained) -> None:  # noqa: ANN001
    _config, result = trained
    metrics = result.metrics
    assert metrics["ndcg_at_10"] > 0.6
    assert metrics["ndcg_at_10"] > 2 * metrics["popularity_ndcg_at_10"]
    assert metrics["users"] == 150
    assert [h["epoch"] for h in metrics["history"]] == list(range(1, 26))


def test_saved_model_scores_the_next_item_highest_and_new_items_by_text(
    trained, tmp_path: Path
) -> None:  # noqa: ANN001
    config, result = trained
    artifact = save_next_item_model(
        result, config, tmp_path / "model", encoder={"model_dir": "", "space": "test"}
    )
    model = load_next_item_model(artifact, device="cpu")
    assert model.unknown_item_ids([3, 999]) == [999]
    new_vector = text_vectors(seed=7, n=1)[0]
    scores = model.score([10, 11, 12], list(range(N_ITEMS)) + [999, 1000], {999: new_vector})
    assert set(scores) == set(range(N_ITEMS)) | {999}  # 1000: no text vector, not scorable
    ranked = sorted(scores, key=scores.get, reverse=True)
    assert ranked[0] == 13
    assert np.isfinite(scores[999])


def test_refuses_text_vectors_that_do_not_match_the_catalogue() -> None:
    config = NextItemConfig.from_dict(SMALL)
    with pytest.raises(ValueError, match="text vectors"):
        train_next_item(config, cyclic_data(users=5), text_vectors(n=N_ITEMS - 1))


def test_config_rejects_unknown_and_bad_values() -> None:
    with pytest.raises(ValueError, match="unknown next-item"):
        NextItemConfig.from_dict({"epochz": 3})
    with pytest.raises(ValueError, match="divisible"):
        NextItemConfig.from_dict({"dim": 30, "heads": 4})

"""The next-item model learns a sequential rule popularity cannot see, saves and loads whole,
and scores items it never saw (or that have no events) from their text vectors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from ml.recsys import Interaction, InteractionData, NextItemConfig
from ml.recsys.artifact import load_next_item_model, save_next_item_model
from ml.recsys.blend import Blend, ndcg_from_ranks, target_ranks
from ml.recsys.data import histories_matrix, leave_last_out
from ml.recsys.evaluate import ranking_evaluate
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


def cold_walk_data(seed: int = 0) -> tuple[InteractionData, np.ndarray]:
    """Cyclic walks (items 0..29) where 30 users each also meet one item nobody else has; its
    text is the mean of the text of that user's walk. Half of them meet it last (a cold test
    target), half second to last (a cold validation target, so the blend can learn from it)."""
    warm = text_vectors()
    rng = np.random.default_rng(seed)
    rows, cold_texts = [], []
    for user in range(150):
        start = int(rng.integers(N_ITEMS))
        walk = [(start + step) % N_ITEMS for step in range(5)]
        sequence = list(walk)
        if user < 30:
            cold_item = N_ITEMS + user
            text = warm[walk].mean(axis=0)
            cold_texts.append(text / np.linalg.norm(text))
            next_warm = (start + 5) % N_ITEMS
            sequence += [cold_item] if user % 2 else [cold_item, next_warm]
        rows += [Interaction(f"u{user}", item, float(t)) for t, item in enumerate(sequence)]
    texts = {i: f"item {i}" for i in range(N_ITEMS + 30)}
    return InteractionData.from_interactions(rows, texts), np.vstack([warm, *cold_texts])


def test_items_without_events_are_ranked_by_their_text_with_weights_chosen_on_validation(
    tmp_path: Path,
) -> None:
    data, vectors = cold_walk_data()
    config = NextItemConfig.from_dict({**SMALL, "epochs": 10, "refit": False})
    result = train_next_item(config, data, vectors, fit_cache=tmp_path / "fits")
    blend = result.metrics["blend"]
    assert blend["cold_after"] is not None  # validation asked for the text placement
    assert result.metrics["cold_start_users"] == 15
    assert result.metrics["cold_start_ndcg_at_10"] > 0.5
    assert result.metrics["fit_cache"] == "written"

    again = train_next_item(config, data, vectors, fit_cache=tmp_path / "fits")
    assert again.metrics["fit_cache"] == "hit"  # same data and settings: not trained again
    assert again.metrics["ndcg_at_10"] == result.metrics["ndcg_at_10"]
    assert again.metrics["history"] == result.metrics["history"]


def test_served_model_places_a_new_item_by_its_text_similarity_to_the_recent_items(
    trained, tmp_path: Path
) -> None:  # noqa: ANN001
    config, result = trained
    recent = [10, 11, 12]
    like = text_vectors()[recent].mean(axis=0)
    like /= np.linalg.norm(like)
    vectors = {998: like, 999: -like}
    candidates = [*range(N_ITEMS), 998, 999]
    ranked = {}
    for after in (None, 0, 2):
        served = dataclasses.replace(result, blend=Blend(cold_after=after))
        artifact = save_next_item_model(
            served, config, tmp_path / f"m{after}", encoder={"model_dir": "", "space": "test"}
        )
        model = load_next_item_model(artifact, device="cpu")
        assert model.blend.cold_after == after
        scores = model.score(recent, candidates, vectors)
        ranked[after] = [i for i in sorted(scores, key=scores.get, reverse=True) if i not in recent]
    assert ranked[None][0] == 13  # the walk goes on; new items only by the network's text path
    assert ranked[0][0] == 998  # the look-alike new item first, the opposite one far below
    assert ranked[2][:3] == [*ranked[None][:2], 998]  # after the two best warm items
    assert ranked[0].index(999) > ranked[0].index(998) + 5


def test_the_blend_search_measures_exactly_what_ranking_evaluate_does() -> None:
    data = cyclic_data(users=40)
    split = leave_last_out(data)
    rng = np.random.default_rng(3)
    scores = np.round(rng.normal(size=(len(split.users), data.n_items)), 1)  # many ties
    histories = split.histories()
    seen = histories_matrix(histories, data.n_items).toarray() > 0

    class Fixed:
        def scores(self, users: np.ndarray, hist: list[np.ndarray]) -> np.ndarray:
            return scores[[list(split.users).index(u) for u in users]]

    expected = ranking_evaluate(Fixed(), split).ndcg
    assert ndcg_from_ranks(target_ranks(scores, seen, split.targets)) == pytest.approx(expected)

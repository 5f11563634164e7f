"""Full-catalogue ranking evaluation: the user's own items never count, ties are pessimistic."""

from __future__ import annotations

import math

import numpy as np

from ml.recsys import Interaction, InteractionData, leave_last_out
from ml.recsys.baselines import Popularity
from ml.recsys.evaluate import ranking_evaluate

ITEMS = {i: f"item {i}" for i in range(6)}


def split():  # noqa: ANN201
    rows = []
    for user, items in {"a": [0, 1, 2], "b": [0, 1, 3], "c": [0, 4]}.items():
        rows += [Interaction(user, item, float(t)) for t, item in enumerate(items)]
    return leave_last_out(InteractionData.from_interactions(rows, ITEMS))


class Fixed:
    def __init__(self, rows: np.ndarray) -> None:
        self.rows = rows

    def scores(self, users: np.ndarray, histories: list[np.ndarray]) -> np.ndarray:
        return self.rows[users]


def test_seen_items_are_removed_before_ranking() -> None:
    s = split()
    rows = np.zeros((3, 6))
    for row, (user, target) in enumerate(zip(s.users, s.targets, strict=True)):
        rows[user, s.train.sequences[user]] = 10.0  # the user's own items score highest...
        rows[user, target] = 5.0 + row  # ...but only the held-out item is rankable above 0
    report = ranking_evaluate(Fixed(rows), s, k=1)
    assert report.users == 3
    assert report.ndcg == 1.0 and report.recall == 1.0


def test_target_at_rank_three_and_ties_count_against_the_model() -> None:
    s = split()
    rows = np.zeros((3, 6))
    # a (target 2): two unseen items above it -> rank 3 -> 1/log2(4) = 0.5
    rows[0, [3, 4]] = 2.0
    rows[0, 2] = 1.0
    # b (target 3) and c (target 4): every unseen item ties -> pessimistic: ranked last
    report = ranking_evaluate(Fixed(rows), s, k=3)
    assert math.isclose(report.ndcg, (0.5 + 0 + 0) / 3)
    assert math.isclose(report.recall, 1 / 3)


def test_popularity_ranks_by_users_who_have_the_item() -> None:
    s = split()
    pop = Popularity.fit(s.train)
    # training: a [0, 1], b [0, 1], c [0]; item 0 counted 3 times, item 1 twice
    np.testing.assert_allclose(pop.log_counts, np.log1p([3, 2, 0, 0, 0, 0]), rtol=1e-6)
    report = ranking_evaluate(pop, s, k=10)
    # every target has count 0 and ties with the other unseen items: ranked last of them
    assert report.ndcg < 0.5


def test_mask_restricts_the_users_evaluated() -> None:
    s = split()
    rows = np.zeros((3, 6))
    rows[np.arange(3), s.targets] = 1.0
    report = ranking_evaluate(Fixed(rows), s, mask=np.array([True, False, False]))
    assert report.users == 1 and report.ndcg == 1.0
    empty = ranking_evaluate(Fixed(rows), s, mask=np.zeros(3, dtype=bool))
    assert empty.users == 0 and math.isnan(empty.ndcg)

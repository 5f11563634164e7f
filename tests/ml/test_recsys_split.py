"""Interaction data and the leave-last-out split: time order, first occurrences, cold items."""

from __future__ import annotations

import io

import numpy as np

from ml.recsys import Interaction, InteractionData, leave_last_out

ITEMS = {10: "red shoe", 20: "blue shoe", 30: "green hat", 40: "never touched"}


def data() -> InteractionData:
    rows = [
        Interaction("b", 20, timestamp=5.0),
        Interaction("a", 30, timestamp=3.0),
        Interaction("a", 10, timestamp=1.0),
        Interaction("a", 20, timestamp=2.0, weight=2.0),
        Interaction("a", 10, timestamp=4.0, weight=4.0),  # a repeat keeps its first place
        Interaction("c", 99, timestamp=1.0),  # not in the catalogue: dropped
        Interaction("c", 30, timestamp=2.0),
    ]
    return InteractionData.from_interactions(rows, ITEMS)


def test_sequences_are_first_occurrences_in_time_order_with_strongest_weight() -> None:
    d = data()
    assert d.user_keys == ("a", "b", "c")
    assert d.item_ids == (10, 20, 30, 40)
    index = d.item_index()
    assert [d.item_ids[i] for i in d.sequences[0]] == [10, 20, 30]
    assert d.weights[0].tolist() == [4.0, 2.0, 1.0]
    assert [d.item_ids[i] for i in d.sequences[2]] == [30]
    assert d.item_texts[index[40]] == "never touched"
    assert d.item_counts().tolist() == [1, 2, 2, 0]


def test_leave_last_out_holds_out_each_users_latest_item() -> None:
    split = leave_last_out(data())
    # "b" and "c" have a single item: they only train.
    assert split.users.tolist() == [0]
    assert [data().item_ids[t] for t in split.targets] == [30]
    assert [split.train.item_ids[i] for i in split.train.sequences[0]] == [10, 20]
    assert len(split.train.sequences[2]) == 1  # c keeps its only item
    # 30 still occurs in training (user c), so a's target is not cold
    assert split.cold_mask().tolist() == [False]


def test_cold_mask_marks_targets_never_seen_in_training() -> None:
    rows = [Interaction("a", 10, 1.0), Interaction("a", 40, 2.0), Interaction("b", 10, 1.0)]
    rows += [Interaction("b", 20, 2.0)]
    split = leave_last_out(InteractionData.from_interactions(rows, ITEMS))
    targets = [split.train.item_ids[t] for t in split.targets]
    assert targets == [40, 20]
    assert split.cold_mask().tolist() == [True, True]


def test_snapshot_round_trips() -> None:
    d = data()
    buffer = io.BytesIO()
    d.save(buffer)
    buffer.seek(0)
    loaded = InteractionData.load(buffer)
    assert loaded.fingerprint() == d.fingerprint()
    assert loaded.user_keys == d.user_keys and loaded.item_texts == d.item_texts
    assert all(np.array_equal(x, y) for x, y in zip(loaded.sequences, d.sequences, strict=True))

"""Users' item sequences in time order, and the leave-last-out split by time.

Items and users keep their own ids (`item_ids`, `user_keys`); everything inside works on dense
indices: item index `i` is `item_ids[i]`, so score arrays are indexed by item index.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import scipy.sparse as sp


@dataclass(frozen=True)
class Interaction:
    """One thing a user did with an item; `weight` says how strong a signal it is."""

    user: str
    item_id: int
    timestamp: float
    weight: float = 1.0


@dataclass(frozen=True)
class InteractionData:
    """Each user's distinct items in the order they first met them, plus the catalogue's text.

    `sequences[u]` holds item indices (first occurrence order); `weights[u]` the strongest signal
    seen for each of them. `item_texts[i]` is what the text encoder reads for item `i`; items
    nobody touched are still part of the catalogue (cold items).
    """

    user_keys: tuple[str, ...]
    item_ids: tuple[int, ...]
    item_texts: tuple[str, ...]
    sequences: tuple[np.ndarray, ...]
    weights: tuple[np.ndarray, ...]

    @property
    def n_users(self) -> int:
        return len(self.user_keys)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    @property
    def n_interactions(self) -> int:
        return int(sum(len(seq) for seq in self.sequences))

    def save(self, handle: BinaryIO) -> None:
        """A compressed npz snapshot (no pickle): `load` reads it back identical."""
        lengths = np.array([len(seq) for seq in self.sequences], dtype=np.int64)
        names = json.dumps({"item_texts": self.item_texts, "user_keys": self.user_keys})
        np.savez_compressed(
            handle,
            item_ids=np.asarray(self.item_ids, dtype=np.int64),
            lengths=lengths,
            items=np.concatenate([*self.sequences, np.zeros(0, dtype=np.int64)]),
            weights=np.concatenate([*self.weights, np.zeros(0, dtype=np.float32)]),
            names=np.frombuffer(names.encode(), dtype=np.uint8),
        )

    @classmethod
    def load(cls, path: Path) -> InteractionData:
        with np.load(path, allow_pickle=False) as npz:
            names = json.loads(npz["names"].tobytes().decode())
            lengths = npz["lengths"]
            bounds = np.cumsum(lengths)[:-1]
            sequences = np.split(npz["items"].astype(np.int64), bounds) if len(lengths) else []
            weights = np.split(npz["weights"].astype(np.float32), bounds) if len(lengths) else []
            item_ids = tuple(int(i) for i in npz["item_ids"])
        if len(sequences) != len(names["user_keys"]):
            raise ValueError(f"{path} is corrupt: sequences and users do not match")
        return cls(
            user_keys=tuple(names["user_keys"]),
            item_ids=item_ids,
            item_texts=tuple(names["item_texts"]),
            sequences=tuple(sequences),
            weights=tuple(weights),
        )

    def item_index(self) -> dict[int, int]:
        return {item_id: index for index, item_id in enumerate(self.item_ids)}

    def fingerprint(self) -> str:
        """sha256 of the ids, texts and sequences: identical data, identical id."""
        digest = hashlib.sha256(b"tessera-interactions-v1")
        digest.update(json.dumps([self.item_ids, self.item_texts, self.user_keys]).encode())
        for seq, weight in zip(self.sequences, self.weights, strict=True):
            digest.update(np.asarray(seq, dtype=np.int64).tobytes())
            digest.update(np.asarray(weight, dtype=np.float32).tobytes())
        return digest.hexdigest()

    @classmethod
    def from_interactions(
        cls, interactions: Iterable[Interaction], items: dict[int, str]
    ) -> InteractionData:
        """Group by user, order by (timestamp, input order), keep each item's first occurrence.

        Interactions with items missing from `items` are dropped: the catalogue decides what
        exists. Items are indexed in ascending id order, users in ascending key order.
        """
        item_ids = tuple(sorted(items))
        index = {item_id: i for i, item_id in enumerate(item_ids)}
        per_user: dict[str, list[tuple[float, int, int, float]]] = {}
        for order, row in enumerate(interactions):
            position = index.get(int(row.item_id))
            if position is None:
                continue
            per_user.setdefault(str(row.user), []).append(
                (float(row.timestamp), order, position, float(row.weight))
            )
        user_keys, sequences, weights = [], [], []
        for user in sorted(per_user):
            seen: dict[int, float] = {}
            for _ts, _order, position, weight in sorted(per_user[user]):
                seen[position] = max(weight, seen.get(position, weight))
            user_keys.append(user)
            sequences.append(np.fromiter(seen.keys(), dtype=np.int64, count=len(seen)))
            weights.append(np.fromiter(seen.values(), dtype=np.float32, count=len(seen)))
        return cls(
            user_keys=tuple(user_keys),
            item_ids=item_ids,
            item_texts=tuple(items[item_id] for item_id in item_ids),
            sequences=tuple(sequences),
            weights=tuple(weights),
        )

    def truncated(self, drop_last: int) -> InteractionData:
        """The same data without each user's last `drop_last` items (users left empty stay)."""
        if drop_last < 0:
            raise ValueError(f"drop_last={drop_last} must be >= 0")
        return InteractionData(
            user_keys=self.user_keys,
            item_ids=self.item_ids,
            item_texts=self.item_texts,
            sequences=tuple(seq[: max(len(seq) - drop_last, 0)] for seq in self.sequences),
            weights=tuple(w[: max(len(w) - drop_last, 0)] for w in self.weights),
        )

    def matrix(self, *, weighted: bool = False) -> sp.csr_matrix:
        """users x items, 1 (or the weight) where the user has the item; float32 CSR."""
        rows = np.repeat(np.arange(self.n_users), [len(seq) for seq in self.sequences])
        cols = np.concatenate([*self.sequences, np.zeros(0, dtype=np.int64)])
        if weighted:
            values = np.concatenate([*self.weights, np.zeros(0, dtype=np.float32)])
        else:
            values = np.ones(len(cols), dtype=np.float32)
        return sp.csr_matrix(
            (values.astype(np.float32), (rows, cols)), shape=(self.n_users, self.n_items)
        )

    def item_counts(self) -> np.ndarray:
        """How many users have each item (the popularity every baseline starts from)."""
        counts = np.zeros(self.n_items, dtype=np.int64)
        for seq in self.sequences:
            counts[seq] += 1
        return counts


@dataclass(frozen=True)
class LeaveLastOut:
    """Each user with >= 2 items: the last one is the target, the rest the history.

    `train` is the data without the targets (what models fit on); `users` index the users
    evaluated and `targets` their held-out item index, aligned.
    """

    train: InteractionData
    users: np.ndarray
    targets: np.ndarray

    def histories(self) -> list[np.ndarray]:
        return [self.train.sequences[u] for u in self.users]

    def cold_mask(self) -> np.ndarray:
        """True where the target item never occurs in `train` (the cold-start slice)."""
        return self.train.item_counts()[self.targets] == 0


def leave_last_out(data: InteractionData) -> LeaveLastOut:
    """Hold out every user's last item (by time); users with a single item only train."""
    users = np.array([u for u, seq in enumerate(data.sequences) if len(seq) >= 2], dtype=np.int64)
    targets = np.array([data.sequences[u][-1] for u in users], dtype=np.int64)
    train = InteractionData(
        user_keys=data.user_keys,
        item_ids=data.item_ids,
        item_texts=data.item_texts,
        sequences=tuple(seq[:-1] if len(seq) >= 2 else seq for seq in data.sequences),
        weights=tuple(w[:-1] if len(w) >= 2 else w for w in data.weights),
    )
    return LeaveLastOut(train=train, users=users, targets=targets)


def histories_matrix(histories: Sequence[np.ndarray], n_items: int) -> sp.csr_matrix:
    """One row per history, 1 where the item occurs (the input of item-item scorers)."""
    rows = np.repeat(np.arange(len(histories)), [len(h) for h in histories])
    cols = np.concatenate([*histories, np.zeros(0, dtype=np.int64)])
    values = np.ones(len(cols), dtype=np.float32)
    return sp.csr_matrix((values, (rows, cols)), shape=(len(histories), n_items))

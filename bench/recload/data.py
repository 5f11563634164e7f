"""The load test's catalogue and history: read from CSV or generated, then COPY'd in.

Synthetic data (seeded): items in 40 categories with titles and descriptions made of
category words; users with one or two favourite categories; item popularity within a
category is Zipf-like (a few bestsellers, a long tail); timestamps spread over the last 30
days; 85% views, 8% clicks, 4% add-to-cart, 3% purchases. CSV input: `items.csv` with
`item_id,title,text[,category]` and `events.csv` with `user_id,item_id,timestamp[,type]`
(timestamp: epoch seconds or ISO 8601); its timestamps are shifted so the newest is now.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

EVENT_TYPES = np.array(["view", "click", "add_to_cart", "purchase"])
EVENT_TYPE_SHARES = np.array([0.85, 0.08, 0.04, 0.03])
CATEGORY_WORDS = [
    ("Kitchen", ["skillet", "knife", "saucepan", "board", "whisk"]),
    ("Coffee", ["grinder", "kettle", "dripper", "beans", "press"]),
    ("Tea", ["sencha", "teapot", "infuser", "oolong", "matcha"]),
    ("Camping", ["tent", "stove", "lantern", "hammock", "tarp"]),
    ("Hiking", ["boots", "poles", "daypack", "map", "gaiters"]),
    ("Running", ["shoes", "socks", "vest", "watch", "shorts"]),
    ("Cycling", ["helmet", "lights", "pump", "jersey", "lock"]),
    ("Yoga", ["mat", "block", "strap", "bolster", "towel"]),
    ("Office", ["chair", "desk", "lamp", "keyboard", "monitor"]),
    ("Audio", ["headphones", "speaker", "earbuds", "turntable", "amplifier"]),
    ("Photo", ["tripod", "lens", "bag", "filter", "flash"]),
    ("Gaming", ["controller", "headset", "mousepad", "chair", "console"]),
    ("Books", ["novel", "cookbook", "guide", "atlas", "memoir"]),
    ("Kids", ["blocks", "puzzle", "bike", "crayons", "doll"]),
    ("Baby", ["carrier", "monitor", "bottle", "blanket", "stroller"]),
    ("Garden", ["shears", "planter", "seeds", "hose", "gloves"]),
    ("Tools", ["drill", "wrench", "saw", "level", "toolbox"]),
    ("Bath", ["towel", "soap", "robe", "diffuser", "salts"]),
    ("Beauty", ["serum", "cream", "brush", "mask", "balm"]),
    ("Pets", ["leash", "bed", "bowl", "toy", "brush"]),
    ("Travel", ["suitcase", "pillow", "adapter", "organizer", "backpack"]),
    ("Home", ["rug", "cushion", "vase", "clock", "frame"]),
    ("Lighting", ["bulb", "pendant", "strip", "sconce", "lamp"]),
    ("Bedding", ["duvet", "sheets", "pillow", "throw", "mattress"]),
    ("Storage", ["box", "shelf", "basket", "hooks", "rack"]),
    ("Cleaning", ["vacuum", "mop", "spray", "cloth", "brush"]),
    ("Fitness", ["dumbbells", "kettlebell", "bands", "bench", "roller"]),
    ("Swimming", ["goggles", "cap", "fins", "towel", "suit"]),
    ("Tennis", ["racket", "balls", "grip", "bag", "strings"]),
    ("Golf", ["clubs", "balls", "tees", "glove", "bag"]),
    ("Music", ["guitar", "strings", "tuner", "capo", "stand"]),
    ("Art", ["paints", "brushes", "canvas", "easel", "pencils"]),
    ("Crafts", ["yarn", "needles", "fabric", "glue", "beads"]),
    ("Phones", ["case", "charger", "cable", "mount", "screen"]),
    ("Computers", ["laptop", "mouse", "hub", "drive", "stand"]),
    ("Watches", ["strap", "watch", "charger", "case", "band"]),
    ("Jewellery", ["ring", "necklace", "earrings", "bracelet", "box"]),
    ("Shoes", ["sneakers", "boots", "sandals", "loafers", "insoles"]),
    ("Outerwear", ["jacket", "parka", "vest", "raincoat", "gloves"]),
    ("Snacks", ["granola", "nuts", "chocolate", "bars", "crackers"]),
]
ADJECTIVES = [
    "classic",
    "compact",
    "premium",
    "everyday",
    "lightweight",
    "durable",
    "eco",
    "pro",
    "deluxe",
    "essential",
    "travel",
    "wireless",
    "organic",
    "soft",
    "rugged",
]


@dataclass
class Dataset:
    """Rows ready for COPY: item i has id i + 1, user u has id u + 1."""

    item_external: list[str]
    item_title: list[str]
    item_text: list[str]
    item_category: list[str]
    user_external: list[str]
    event_user: np.ndarray  # (E,) int64 user index
    event_item: np.ndarray  # (E,) int64 item index
    event_type: np.ndarray  # (E,) str
    event_time: np.ndarray  # (E,) float64 epoch seconds

    @property
    def n_items(self) -> int:
        return len(self.item_external)

    def warm_users(self, limit: int, seed: int = 0) -> list[str]:
        """External ids of users with history, for the load test to ask about."""
        rng = np.random.default_rng(seed)
        active = np.unique(self.event_user)
        chosen = rng.choice(active, size=min(limit, active.size), replace=False)
        return [self.user_external[i] for i in chosen]


def synthetic(*, n_items: int, n_events: int, n_users: int, seed: int = 14) -> Dataset:
    rng = np.random.default_rng(seed)
    n_categories = len(CATEGORY_WORDS)
    item_category = rng.integers(0, n_categories, size=n_items)
    titles, texts, categories = [], [], []
    adjectives = rng.integers(0, len(ADJECTIVES), size=n_items)
    nouns = rng.integers(0, 5, size=n_items)
    for i in range(n_items):
        name, words = CATEGORY_WORDS[item_category[i]]
        noun, adjective = words[nouns[i]], ADJECTIVES[adjectives[i]]
        titles.append(f"{adjective.title()} {noun} {i % 997 + 1}")
        texts.append(
            f"A {adjective} {noun} for {name.lower()}: pairs well with a "
            f"{words[(nouns[i] + 1) % 5]} and a {words[(nouns[i] + 2) % 5]}."
        )
        categories.append(name)
    # Items of each category, in a fixed popularity order, with Zipf-like weights.
    members = [np.flatnonzero(item_category == c) for c in range(n_categories)]
    cumulative = []
    for ids in members:
        weights = 1.0 / (np.arange(ids.size) + 5.0) ** 1.1
        cumulative.append(np.cumsum(weights) / weights.sum())
    favourite = rng.integers(0, n_categories, size=(n_users, 2))
    # Active users do more: user index drawn from a skewed distribution.
    user_weights = 1.0 / (np.arange(n_users) + 20.0) ** 0.8
    event_user = rng.choice(n_users, size=n_events, p=user_weights / user_weights.sum())
    roll = rng.random(n_events)
    event_category = np.where(
        roll < 0.6,
        favourite[event_user, 0],
        np.where(roll < 0.85, favourite[event_user, 1], rng.integers(0, n_categories, n_events)),
    )
    event_item = np.empty(n_events, dtype=np.int64)
    draws = rng.random(n_events)
    for c in range(n_categories):
        rows = np.flatnonzero(event_category == c)
        if rows.size and members[c].size:
            event_item[rows] = members[c][np.searchsorted(cumulative[c], draws[rows])]
        elif rows.size:
            event_item[rows] = rng.integers(0, n_items, rows.size)
    now = datetime.now(UTC).timestamp()
    return Dataset(
        item_external=[f"item-{i}" for i in range(n_items)],
        item_title=titles,
        item_text=texts,
        item_category=categories,
        user_external=[f"user-{u}" for u in range(n_users)],
        event_user=event_user.astype(np.int64),
        event_item=event_item,
        event_type=rng.choice(EVENT_TYPES, size=n_events, p=EVENT_TYPE_SHARES),
        event_time=np.sort(now - rng.uniform(0, 30 * 86400, n_events)),
    )


def _timestamp(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def from_csv(folder: Path) -> Dataset:
    item_index: dict[str, int] = {}
    external, titles, texts, categories = [], [], [], []
    with (folder / "items.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            item_index[row["item_id"]] = len(external)
            external.append(row["item_id"])
            titles.append((row.get("title") or row["item_id"])[:500])
            texts.append(row.get("text") or "")
            categories.append((row.get("category") or "")[:200])
    user_index: dict[str, int] = {}
    users, items, kinds, times = [], [], [], []
    with (folder / "events.csv").open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            item = item_index.get(row["item_id"])
            if item is None:
                continue
            users.append(user_index.setdefault(row["user_id"], len(user_index)))
            items.append(item)
            kind = (row.get("type") or "view").strip()
            kinds.append(kind if kind in EVENT_TYPES else "view")
            times.append(_timestamp(row["timestamp"]))
    event_time = np.asarray(times, dtype=np.float64)
    if event_time.size:
        event_time += datetime.now(UTC).timestamp() - event_time.max()
    return Dataset(
        item_external=external,
        item_title=titles,
        item_text=texts,
        item_category=categories,
        user_external=list(user_index),
        event_user=np.asarray(users, dtype=np.int64),
        event_item=np.asarray(items, dtype=np.int64),
        event_type=np.asarray(kinds),
        event_time=event_time,
    )


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat()


def copy_into(connection, data: Dataset, *, client_id: int) -> None:  # noqa: ANN001
    """COPY the rows into the recommender's tables (psycopg 3), then fix the id sequences."""
    now = _iso(datetime.now(UTC).timestamp())
    with connection.cursor() as cursor:
        with cursor.copy(
            "COPY recommender_item (id, client_id, external_id, title, description, tags, "
            "category, price, available, removed, created_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(data.n_items):
                copy.write_row(
                    (
                        i + 1,
                        client_id,
                        data.item_external[i],
                        data.item_title[i],
                        data.item_text[i],
                        "[]",
                        data.item_category[i],
                        None,
                        True,
                        False,
                        now,
                        now,
                    )
                )
        with cursor.copy(
            "COPY recommender_shopuser (id, client_id, external_id, created_at) FROM STDIN"
        ) as copy:
            for u, name in enumerate(data.user_external):
                copy.write_row((u + 1, client_id, name, now))
        with cursor.copy(
            "COPY recommender_event (id, client_id, external_id, user_id, item_id, type, value, "
            "occurred_at, received_at) FROM STDIN"
        ) as copy:
            for e in range(data.event_user.size):
                copy.write_row(
                    (
                        e + 1,
                        client_id,
                        f"e{e}",
                        int(data.event_user[e]) + 1,
                        int(data.event_item[e]) + 1,
                        str(data.event_type[e]),
                        None,
                        _iso(float(data.event_time[e])),
                        now,
                    )
                )
        for table, last in (
            ("recommender_item", data.n_items),
            ("recommender_shopuser", len(data.user_external)),
            ("recommender_event", int(data.event_user.size)),
        ):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)",  # noqa: S608
                [max(last, 1)],
            )
        for table in ("recommender_item", "recommender_shopuser", "recommender_event"):
            cursor.execute(f"ANALYZE {table}")  # noqa: S608


def synthetic_vectors(
    data: Dataset, dim: int, *, seed: int = 7
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(ids, unit vectors) in chunks: a centroid per category plus noise, so neighbours share
    a category as real text vectors would."""
    rng = np.random.default_rng(seed)
    names = sorted(set(data.item_category))
    centroids = rng.standard_normal((len(names), dim)).astype(np.float32)
    position = {name: row for row, name in enumerate(names)}
    category_row = np.array([position[c] for c in data.item_category])
    chunk = 50_000
    for start in range(0, data.n_items, chunk):
        rows = np.arange(start, min(start + chunk, data.n_items))
        vectors = centroids[category_row[rows]] + 0.9 * rng.standard_normal(
            (rows.size, dim)
        ).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        yield rows + 1, vectors


def write_users(path: Path, users: list[str]) -> None:
    path.write_text(json.dumps(users))


def event_count_window(data: Dataset, *, days: float) -> int:
    cutoff = datetime.now(UTC).timestamp() - timedelta(days=days).total_seconds()
    return int((data.event_time >= cutoff).sum())

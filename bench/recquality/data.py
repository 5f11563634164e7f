"""Reading a benchmark data set into `InteractionData`: MovieLens or generic items + events.

MovieLens (`ratings.csv`, `movies.csv`, optional `tags.csv`): every rating is an interaction;
an item's text is its title, genres and the tags users gave it. Generic: `items.csv`
(`item_id,title,text`) and `events.csv` (`user_id,item_id,timestamp[,type]`); the type's
weight is the project's (purchase > add_to_cart > click > view).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

from ml.recsys.data import Interaction, InteractionData

EVENT_WEIGHTS = {"view": 1.0, "click": 2.0, "rating": 2.0, "add_to_cart": 3.0, "purchase": 4.0}


def data_kind(data: Path) -> str | None:
    """ "movielens", "generic", or None when `data` holds neither layout."""
    if (data / "ratings.csv").is_file() and (data / "movies.csv").is_file():
        return "movielens"
    if (data / "items.csv").is_file() and (data / "events.csv").is_file():
        return "generic"
    return None


def _rows(path: Path) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        yield from csv.DictReader(handle)


def _need(path: Path, row: dict[str, str], columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in row]
    if missing:
        raise SystemExit(f"{path}: missing column(s) {missing}; found {sorted(row)}")


def load_movielens(data: Path) -> InteractionData:
    tags: dict[int, list[str]] = defaultdict(list)
    if (data / "tags.csv").is_file():
        for row in _rows(data / "tags.csv"):
            tag = row["tag"].strip()
            if tag and tag.lower() not in {t.lower() for t in tags[int(row["movieId"])]}:
                tags[int(row["movieId"])].append(tag)
    items: dict[int, str] = {}
    for row in _rows(data / "movies.csv"):
        _need(data / "movies.csv", row, ("movieId", "title", "genres"))
        movie = int(row["movieId"])
        genres = row["genres"].replace("|", ", ").replace("(no genres listed)", "")
        parts = [row["title"].strip(), genres, ", ".join(tags.get(movie, []))]
        items[movie] = ". ".join(part for part in parts if part)
    interactions = []
    for row in _rows(data / "ratings.csv"):
        _need(data / "ratings.csv", row, ("userId", "movieId", "timestamp"))
        interactions.append(
            Interaction(
                user=row["userId"], item_id=int(row["movieId"]), timestamp=float(row["timestamp"])
            )
        )
    return InteractionData.from_interactions(interactions, items)


def load_generic(data: Path) -> InteractionData:
    items: dict[int, str] = {}
    for row in _rows(data / "items.csv"):
        _need(data / "items.csv", row, ("item_id", "title", "text"))
        items[int(row["item_id"])] = ". ".join(p for p in (row["title"], row["text"]) if p)
    interactions = []
    for row in _rows(data / "events.csv"):
        _need(data / "events.csv", row, ("user_id", "item_id", "timestamp"))
        kind = (row.get("type") or "view").strip()
        interactions.append(
            Interaction(
                user=row["user_id"],
                item_id=int(row["item_id"]),
                timestamp=float(row["timestamp"]),
                weight=EVENT_WEIGHTS.get(kind, 1.0),
            )
        )
    return InteractionData.from_interactions(interactions, items)


def load(data: Path) -> InteractionData:
    kind = data_kind(data)
    if kind == "movielens":
        return load_movielens(data)
    if kind == "generic":
        return load_generic(data)
    raise SystemExit(f"{data} has neither ratings.csv + movies.csv nor items.csv + events.csv")

"""The benchmark's data: PhraseBank (or `text,label` CSV) sentences, the registry's training CSV,
and the burst's articles."""

from __future__ import annotations

import csv
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

COMPANIES = [
    "Acme Corp",
    "Globex",
    "Initech",
    "Umbrella Corp",
    "Hooli",
    "Stark Industries",
    "Wayne Enterprises",
    "Cyberdyne Systems",
    "Soylent Corp",
    "Tyrell Corp",
    "Wonka Industries",
    "Vandelay Industries",
    "Monarch Solutions",
    "Oscorp",
    "Gringotts Bank",
    "Duff Brewing",
]
WARMUP_TITLES = [
    "Market wrap: indexes end the session little changed",
    "Currency desk: the euro trades in a narrow range",
    "Commodities: copper steady ahead of inventory data",
    "Bond markets: yields drift as traders await the auction",
]


def read_sentences(data: Path) -> list[tuple[str, str]] | None:
    """(sentence, label) pairs, or None when DIR holds neither format."""
    phrasebank = data / "Sentences_50Agree.txt"
    if phrasebank.is_file():
        pairs = []
        for line in phrasebank.read_text(encoding="latin-1").splitlines():
            text, _, label = line.rpartition("@")
            if text.strip() and label.strip() in {"positive", "neutral", "negative"}:
                pairs.append((text.strip(), label.strip()))
        return pairs
    train = data / "train.csv"
    if train.is_file():
        with train.open(newline="", encoding="utf-8-sig") as handle:
            return [
                (row["text"].strip(), row["label"].strip())
                for row in csv.DictReader(handle)
                if row.get("text", "").strip() and row.get("label")
            ]
    return None


def training_csv(pairs: list[tuple[str, str]], n: int, path: Path, rng: random.Random) -> Path:
    """A stratified sample of `n` sentences as the registry's `text,label` CSV."""
    by_label: dict[str, list[str]] = defaultdict(list)
    for text, label in pairs:
        by_label[label].append(text)
    chosen: list[tuple[str, str]] = []
    for label, texts in sorted(by_label.items()):
        take = max(1, round(n * len(texts) / len(pairs)))
        chosen += [(text, label) for text in rng.sample(texts, min(take, len(texts)))]
    rng.shuffle(chosen)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["text", "label"])
        writer.writerows(chosen)
    return path


@dataclass(frozen=True)
class BurstArticle:
    row: dict[str, Any]
    topic: str
    negative: bool


def burst_articles(
    pairs: list[tuple[str, str]],
    *,
    topics: list[str],
    n: int,
    negative_share: float,
    run_id: str,
    rng: random.Random,
) -> list[BurstArticle]:
    negatives = [t for t, label in pairs if label == "negative"]
    neutrals = [t for t, label in pairs if label == "neutral"]
    # Each topic draws its sentences without replacement: "<company>: <sentence>" never repeats
    # (a repeat would be a duplicate by content hash, not a new article).
    draws = {
        topic: (
            iter(rng.sample(negatives, len(negatives))),
            iter(rng.sample(neutrals, len(neutrals))),
        )
        for topic in topics
    }
    articles = []
    for i in range(n):
        topic = topics[i % len(topics)]
        negative = rng.random() < negative_share
        sentence = next(draws[topic][0 if negative else 1])
        articles.append(
            BurstArticle(
                row={
                    "id": f"{run_id}-{i}",
                    "title": f"{topic}: {sentence}"[:1000],
                    "body": "",
                    "url": f"https://bench.example/{run_id}/{i}",
                    "source": "Bench Wire",
                    "language": "en",
                },
                topic=topic,
                negative=negative,
            )
        )
    rng.shuffle(articles)
    return articles

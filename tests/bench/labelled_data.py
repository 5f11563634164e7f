"""A tiny `text,category` data set (Banking77's format) for the benchmark smoke tests."""

from __future__ import annotations

import csv
from pathlib import Path

INTENTS = {
    "card_arrival": ["where is my new card", "my card has not arrived yet", "card delivery"],
    "change_pin": ["how do I change my pin", "reset the pin code", "new pin number please"],
    "top_up": ["add money to my account", "top up failed", "how to top up by transfer"],
    "lost_card": ["I lost my card", "my card was stolen", "block my stolen card"],
}


def write_labelled_dataset(folder: Path, intents: dict[str, list[str]] = INTENTS) -> Path:
    """train.csv with the phrases, test.csv with "hello, <phrase>" (near-duplicates)."""
    folder.mkdir()
    for name, prefix in (("train.csv", ""), ("test.csv", "hello, ")):
        with (folder / name).open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["text", "category"])
            for intent, phrases in intents.items():
                writer.writerows((f"{prefix}{phrase}", intent) for phrase in phrases)
    return folder

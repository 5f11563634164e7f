"""The chat load test's knowledge base: one entry per category of a `text,category` data set,
padded with deterministic phrasing variants to exactly the requested size."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from pathlib import Path

from bench.common import read_labelled

KB_FORMAT = 1  # bump when the knowledge-base construction changes (invalidates caches)


HOLDOUT_FRACTION = 0.1


PHRASE_PREFIXES = [
    "",
    "Hi, ",
    "Hello, ",
    "Hey there, ",
    "Quick question: ",
    "Excuse me, ",
    "Good morning, ",
    "Sorry to bother you, ",
    "Can you help? ",
    "Question: ",
]


PHRASE_SUFFIXES = [
    "",
    " Thanks.",
    " Thank you!",
    " Please help.",
    " Any ideas?",
    " Cheers.",
    " Thanks in advance.",
    " I need this sorted today.",
]


VARIANT_PAIRS = [(p, s) for s in PHRASE_SUFFIXES for p in PHRASE_PREFIXES][1:]  # 79, no ("", "")


@dataclass(frozen=True)
class KnowledgeBase:
    entries: list[tuple[int, str, str, str]]  # (id, title, answer, intent)
    phrasings: list[tuple[int, int, str, str]]  # (id, entry id, text, source)
    questions: list[str]
    question_source: str

    def fingerprint(self, model: str) -> str:
        digest = hashlib.sha256(f"{KB_FORMAT}|{model}".encode())
        for row in self.entries:
            digest.update(repr(row).encode())
        for row in self.phrasings:
            digest.update(repr(row).encode())
        return digest.hexdigest()[:16]


def read_rows(path: Path) -> list[tuple[str, str]]:
    """(text, category) rows, whitespace collapsed and cut to the phrasing column's 500 chars."""
    rows = []
    for example in read_labelled(path):
        text = " ".join(example.text.split())[:500]
        if text:
            rows.append((text, example.label))
    return rows


def _title(category: str) -> str:
    words = category.replace("_", " ").replace("-", " ").strip()
    return (words[:1].upper() + words[1:])[:300] or "Entry"


def _slug(category: str) -> str:
    from django.utils.text import slugify

    return (slugify(category.replace("_", "-")) or "entry")[:100]


def build_knowledge_base(data: Path, n_phrasings: int, seed: int) -> KnowledgeBase:
    """Entries, phrasings (exactly n_phrasings, explicit ids) and questions; deterministic."""
    train = read_rows(data / "train.csv")
    if not train:
        raise SystemExit(f"{data / 'train.csv'} has no rows")
    if (data / "test.csv").is_file():
        questions = [text for text, _ in read_rows(data / "test.csv")]
        source = "test.csv"
    else:
        order = list(range(len(train)))
        random.Random(seed).shuffle(order)
        held = set(order[: max(1, int(len(train) * HOLDOUT_FRACTION))])
        questions = [train[i][0] for i in sorted(held)]
        train = [row for i, row in enumerate(train) if i not in held]
        source = f"train.csv ({HOLDOUT_FRACTION:.0%} held out)"
    if not questions:
        raise SystemExit(f"{data}: no questions to ask")

    categories = list(dict.fromkeys(category for _, category in train))
    entries, entry_of, seen, slugs = [], {}, {}, set()
    for entry_id, category in enumerate(categories, start=1):
        slug = _slug(category)
        while slug in slugs:
            slug = f"{slug[:90]}-{entry_id}"
        slugs.add(slug)
        title = _title(category)
        answer = f"Here is how we handle {title.lower()}: see the help centre article on it."
        entries.append((entry_id, title, answer, slug))
        entry_of[category] = entry_id
        seen[entry_id] = set()

    phrasings: list[tuple[int, int, str, str]] = []

    def add(entry_id: int, text: str, source: str) -> bool:
        text = text[:500]
        if len(phrasings) >= n_phrasings or text in seen[entry_id]:
            return False
        seen[entry_id].add(text)
        phrasings.append((len(phrasings) + 1, entry_id, text, source))
        return True

    for entry_id, title, _, _ in entries:
        add(entry_id, title, "title")
    for text, category in train:
        add(entry_of[category], text, "import")
    round_no = 0
    while len(phrasings) < n_phrasings:
        prefix, suffix = VARIANT_PAIRS[round_no % len(VARIANT_PAIRS)]
        counter = (
            f" ({round_no // len(VARIANT_PAIRS) + 1})" if round_no >= len(VARIANT_PAIRS) else ""
        )
        added = sum(
            add(entry_of[category], f"{prefix}{text}{suffix}{counter}", "import")
            for text, category in train
        )
        if not added and round_no > 10 * len(VARIANT_PAIRS):
            raise SystemExit(f"cannot make {n_phrasings} distinct phrasings from {data}")
        round_no += 1
    return KnowledgeBase(entries, phrasings, questions, source)

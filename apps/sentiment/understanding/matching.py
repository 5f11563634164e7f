"""Which topics an article is about, and why: rules (alias, ticker, keyword) and embeddings.

Rules, all on whole words (a term never matches inside a longer word, so "Ford" is not found
in "Stafford", "ACME" not in "ACMEX"):
- alias: case-insensitive ("apple inc" finds "Apple Inc.");
- ticker: exact upper case ("F" finds "F shares", not "f"), or with a dollar sign in any case
  ("$tsla"); in a text with no lower-case letter (a shouted headline) only `$SYM` counts, since
  every word there looks like a ticker;
- keyword: case-insensitive.
One reason per (article, topic): alias, then ticker, then keyword, then embedding similarity
of the article (title + body) to the topic's description, scored through the
`sentiment_articles` index.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.core.exceptions import ValidationError

from apps.sentiment.models import Topic, TopicMatch

TICKER_SHAPE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,11}$")
MAX_TERM_LENGTH = 200  # TopicMatch.matched_text holds 300


@dataclass(frozen=True)
class MatchReason:
    """Why an article belongs to a topic: the configured term, or the similarity."""

    method: str  # TopicMatch.Method value
    matched_text: str = ""
    score: float | None = None


def _word(term: str) -> str:
    """`term` as a whole word: not preceded or followed by a letter, digit or underscore."""
    body = r"\s+".join(re.escape(part) for part in term.split())
    return rf"(?<!\w){body}(?!\w)"


@dataclass(frozen=True)
class TopicRules:
    """A topic's terms compiled once per matching run."""

    topic_id: int
    aliases: tuple[tuple[str, re.Pattern[str]], ...]
    tickers: tuple[tuple[str, re.Pattern[str], re.Pattern[str]], ...]  # bare, $-prefixed
    keywords: tuple[tuple[str, re.Pattern[str]], ...]

    @classmethod
    def of(cls, topic: Topic) -> TopicRules:
        return cls(
            topic_id=topic.id,
            aliases=tuple(
                (alias, re.compile(_word(alias), re.IGNORECASE)) for alias in topic.aliases
            ),
            tickers=tuple(
                (
                    ticker,
                    re.compile(rf"(?<![\w$]){re.escape(ticker)}(?!\w)"),
                    re.compile(rf"\${re.escape(ticker)}(?!\w)", re.IGNORECASE),
                )
                for ticker in topic.tickers
            ),
            keywords=tuple(
                (keyword, re.compile(_word(keyword), re.IGNORECASE)) for keyword in topic.keywords
            ),
        )

    def match(self, texts: Sequence[str]) -> MatchReason | None:
        """The first rule that finds its term in any of `texts` (title, body), or None."""
        for alias, pattern in self.aliases:
            if any(pattern.search(text) for text in texts):
                return MatchReason(TopicMatch.Method.ALIAS, alias)
        for ticker, bare, dollar in self.tickers:
            for text in texts:
                shouted = not any(ch.islower() for ch in text)
                if dollar.search(text) or (not shouted and bare.search(text)):
                    return MatchReason(TopicMatch.Method.TICKER, ticker)
        for keyword, pattern in self.keywords:
            if any(pattern.search(text) for text in texts):
                return MatchReason(TopicMatch.Method.KEYWORD, keyword)
        return None


def topic_threshold(topic: Topic) -> float:
    if topic.similarity_threshold is not None:
        return topic.similarity_threshold
    return settings.SENTIMENT_TOPIC_SIMILARITY_THRESHOLD


def rule_matches(
    topics: Sequence[Topic], articles: Iterable[tuple[int, str, str]]
) -> dict[tuple[int, int], MatchReason]:
    """{(article id, topic id): reason} for `(id, title, body)` rows and the topics' rules."""
    rules = [TopicRules.of(topic) for topic in topics]
    found: dict[tuple[int, int], MatchReason] = {}
    for article_id, title, body in articles:
        texts = (title, body) if body else (title,)
        for rule in rules:
            reason = rule.match(texts)
            if reason is not None:
                found[(article_id, rule.topic_id)] = reason
    return found


def similarity_matches(
    topics: Sequence[Topic], scores: np.ndarray, ids: np.ndarray
) -> dict[tuple[int, int], MatchReason]:
    """Embedding reasons from a search of the topics' description vectors (one row each).

    `scores` / `ids` are the (topics, k) result of the index search; -1 ids are padding.
    """
    found: dict[tuple[int, int], MatchReason] = {}
    for topic, row_scores, row_ids in zip(topics, scores, ids, strict=True):
        threshold = topic_threshold(topic)
        for score, article_id in zip(row_scores, row_ids, strict=True):
            if article_id >= 0 and score >= threshold:
                found[(int(article_id), topic.id)] = MatchReason(
                    TopicMatch.Method.EMBEDDING, score=round(float(score), 4)
                )
    return found


# --- cleaning what an admin types ----------------------------------------------------------------


def topic_terms_clean(raw: str | Iterable[str], *, kind: str) -> list[str]:
    """Comma-separated (or listed) terms -> stripped, de-duplicated list; ValidationError if bad.

    `kind` is "aliases", "tickers" or "keywords". Tickers are upper-cased and lose a leading $.
    """
    parts = raw.split(",") if isinstance(raw, str) else list(raw)
    terms: list[str] = []
    seen: set[str] = set()
    for part in parts:
        term = " ".join(str(part).split())
        if kind == "tickers":
            term = term.removeprefix("$").upper()
            if term and not TICKER_SHAPE.match(term):
                raise ValidationError(
                    f"{term!r} is not a ticker: use letters, digits, '.' or '-' "
                    "(up to 12, e.g. BRK.B)",
                    code="invalid_ticker",
                )
        if not term:
            continue
        if len(term) > MAX_TERM_LENGTH:
            raise ValidationError(
                f"{term[:40]!r}... is longer than {MAX_TERM_LENGTH} characters",
                code="term_too_long",
            )
        if not any(ch.isalnum() for ch in term):
            raise ValidationError(f"{term!r} has no letter or digit to match", code="no_word")
        key = term.casefold()
        if key not in seen:
            seen.add(key)
            terms.append(term)
    return terms

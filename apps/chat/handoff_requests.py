"""Spot customers who type that they want a person ("can I talk to a human?").

The widget has a "Talk to a person" button, but many people just type it. Answering that with
the nearest knowledge-base entry (say, opening hours) is what customers hate most about bots,
so a message close enough to one of the request phrasings below hands the conversation to the
agents' queue instead. Closeness is the cosine between the message and the phrasings in the
shared encoder's space (the message vector is the one retrieval already computed, so this
costs one matrix-vector product). `CHAT_HANDOFF_REQUEST_SIMILARITY` was chosen by
`bench/handoff_requests.py`: held-out request paraphrases vs. real banking questions.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings

# English requests for a person. A deployment in another language sets CHAT_HANDOFF_PHRASES.
DEFAULT_PHRASES: tuple[str, ...] = (
    "I want to talk to a human",
    "can I speak to a real person",
    "let me talk to an agent",
    "connect me to customer service",
    "I need to speak with someone",
    "transfer me to a human agent",
    "is there a real person I can chat with",
    "get me a human",
    "I want to speak to a representative",
    "put me through to an operator",
    "talk to a person please",
    "human please",
    "I don't want to talk to a bot",
    "stop, I want a real agent",
    "can a member of staff help me",
    "live agent",
    "speak to someone from support",
    "I would like to chat with an employee",
)

_lock = threading.Lock()
_cache: dict[tuple[str, ...], np.ndarray] = {}


@dataclass(frozen=True)
class HandoffMatch:
    """How close a message is to asking for a person, and to which phrasing."""

    similarity: float
    phrase: str
    requested: bool


def request_phrases() -> tuple[str, ...]:
    configured = getattr(settings, "CHAT_HANDOFF_PHRASES", None)
    return tuple(configured) if configured else DEFAULT_PHRASES


def _phrase_vectors(phrases: tuple[str, ...]) -> np.ndarray:
    """Encoded once per process (and per phrase list), through the shared encoder."""
    with _lock:
        cached = _cache.get(phrases)
    if cached is not None:
        return cached
    from ml.registry.serving import encode_texts

    vectors = np.asarray(encode_texts(list(phrases)), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
    with _lock:
        _cache[phrases] = vectors
    return vectors


def best_match(
    vector: Sequence[float], phrases: Sequence[str], vectors: np.ndarray
) -> HandoffMatch:
    """The closest request phrasing to one (normalised) message vector, against a threshold."""
    query = np.asarray(vector, dtype=np.float32)
    query = query / max(float(np.linalg.norm(query)), 1e-12)
    similarities = vectors @ query
    best = int(similarities.argmax())
    similarity = float(similarities[best])
    threshold = float(settings.CHAT_HANDOFF_REQUEST_SIMILARITY)
    return HandoffMatch(
        similarity=similarity, phrase=phrases[best], requested=similarity >= threshold
    )


def handoff_request_match(vector: Sequence[float]) -> HandoffMatch | None:
    """None when detection is off (CHAT_HANDOFF_REQUEST_SIMILARITY above 1)."""
    if float(settings.CHAT_HANDOFF_REQUEST_SIMILARITY) > 1.0:
        return None
    phrases = request_phrases()
    return best_match(vector, phrases, _phrase_vectors(phrases))

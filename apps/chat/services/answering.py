"""Answering a question: retrieve, classify, decide (no writes; replies and preview use it)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from apps.chat.answering import Decision, ScoredQuestion, best_intent, score_question
from apps.chat.decision_points import DecisionThresholds, decision_thresholds_for
from apps.chat.handoff_requests import HandoffMatch, handoff_request_match
from apps.chat.kb_index import kb_index_reader, kb_index_search
from apps.chat.models import EntryPhrasing, KnowledgeEntry

logger = logging.getLogger(__name__)

INTENT_TASK = "chat.intent"
RETRIEVAL_K = 50


def _intent_probabilities(text: str) -> tuple[dict[str, float] | None, str]:
    """The production intent model's P(label), or None when no model is promoted yet."""
    from ml.registry.serving import ModelNotAvailable, predict_texts

    try:
        [(version_key, ranked)] = predict_texts(INTENT_TASK, [text])
    except ModelNotAvailable:
        return None, ""
    return dict(ranked), version_key


@dataclass(frozen=True)
class AnswerResult:
    """What the bot would do with a question, and why (no writes were made)."""

    decision: Decision
    scored: ScoredQuestion
    entries: dict[int, KnowledgeEntry]  # the ranked (and hit) entries by id
    handoff: HandoffMatch | None  # the typed-request check; None when detection is off
    thresholds: DecisionThresholds  # the production model's own points, or the settings'
    intent_version: str  # "id:vN" of the intent model that answered; "" without one
    latency_ms: float

    @property
    def handoff_requested(self) -> bool:
        return bool(self.handoff and self.handoff.requested)

    @property
    def action(self) -> str:
        """answer | suggest | handoff, or handoff_request when the customer asked for a person."""
        return "handoff_request" if self.handoff_requested else self.decision.action

    def evidence(self) -> dict[str, Any]:
        """The JSON saved with the bot's message (the admin and analytics read it later)."""
        handoff = self.handoff
        scored = self.scored
        return {
            "decision": self.action,
            "handoff_request": None
            if handoff is None
            else {
                "similarity": round(handoff.similarity, 4),
                "phrase": handoff.phrase,
                "threshold": settings.CHAT_HANDOFF_REQUEST_SIMILARITY,
            },
            "confidence": round(self.decision.confidence, 4),
            "entries": [
                {
                    "entry_id": r.entry_id,
                    "title": self.entries[r.entry_id].title if r.entry_id in self.entries else "",
                    "score": round(r.score, 4),
                    "retrieval_score": round(r.retrieval_score, 4),
                    "intent_probability": None
                    if r.intent_probability is None
                    else round(r.intent_probability, 4),
                }
                for r in self.decision.ranked
            ],
            "intent": scored.top_intent,
            "intent_confidence": None
            if scored.top_intent_probability is None
            else round(scored.top_intent_probability, 4),
            "out_of_scope_probability": None
            if scored.top_intent_probability is None  # no intent model: retrieval only
            else round(scored.out_of_scope_probability, 4),
            "model_versions": {
                INTENT_TASK: self.intent_version or None,
                "encoder": _encoder_name(),
            },
            "thresholds": {
                "answer": self.thresholds.thresholds.answer,
                "suggest": self.thresholds.thresholds.suggest,
                "suggest_on": self.thresholds.thresholds.suggest_on,
                "source": self.thresholds.source,
            },
            "top3_confidence": round(self.decision.top3_confidence, 4),
            "latency_ms": self.latency_ms,
        }


def answering_warm_up() -> dict[str, Any]:
    """Load what the first answer needs (encoder, handoff phrases, knowledge-base index).

    Run once in the background when a server starts, so the first customer after a deploy
    does not wait for the model load (and, on CPU, the one-off ONNX export).
    """
    from ml.registry.serving import encode_texts

    started = time.perf_counter()
    [vector] = encode_texts(["warm-up question"])
    handoff_request_match(vector)
    vectors = len(kb_index_reader().get())  # 0 until an entry is indexed; reloaded then
    took_s = round(time.perf_counter() - started, 2)
    logger.info("answering warmed up in %.2fs (index: %d vectors)", took_s, vectors)
    return {"seconds": took_s, "index_vectors": vectors}


def answer_question(text: str) -> AnswerResult:
    """Retrieve + classify + decide for one question; no writes (used by replies and preview)."""
    from ml.registry.serving import encode_texts

    started = time.perf_counter()
    [vector] = encode_texts([text])
    handoff = handoff_request_match(vector)
    scores, phrasing_ids = kb_index_search(vector, RETRIEVAL_K)
    hits = [(int(pid), float(s)) for pid, s in zip(phrasing_ids, scores, strict=True) if pid >= 0]
    # Only active, existing entries: the index may lag a deletion by a second.
    # Phrasing -> entry as plain pairs, then each distinct entry once: the hits are many
    # phrasings of a few entries, and building a model row per hit was most of this step.
    entry_of: dict[int, int] = dict(
        EntryPhrasing.objects.filter(id__in=[pid for pid, _ in hits]).values_list("id", "entry_id")
    )
    entries: dict[int, KnowledgeEntry] = KnowledgeEntry.objects.filter(active=True).in_bulk(
        set(entry_of.values())
    )  # the active filter is here: a hit whose entry is missing from `entries` is dropped
    hits = [(entry_of[pid], score) for pid, score in hits if entry_of.get(pid) in entries]
    intent_probs, intent_version = _intent_probabilities(text)
    # An entry the classifier is sure about may be missing from the top-k phrasings.
    top_intent = best_intent(intent_probs)
    if top_intent is not None and all(e.intent != top_intent for e in entries.values()):
        extra = KnowledgeEntry.objects.filter(intent=top_intent, active=True).first()
        if extra is not None:
            entries[extra.id] = extra
    scored = score_question(
        hits=hits,
        entry_intents={eid: entry.intent for eid, entry in entries.items()},
        intent_probabilities=intent_probs,
    )
    thresholds = decision_thresholds_for(intent_version)
    return AnswerResult(
        decision=scored.decide(thresholds.thresholds),
        scored=scored,
        entries=entries,
        handoff=handoff,
        thresholds=thresholds,
        intent_version=intent_version,
        latency_ms=round((time.perf_counter() - started) * 1000, 1),
    )


def _encoder_name() -> str:
    return settings.ML_BASE_MODEL_NAME

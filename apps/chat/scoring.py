"""The chat's batch-scoring handler: re-score open unanswered questions after a promotion.

When a new `chat.intent` version reaches production (often trained on the very questions an
admin attached or marked out of scope), the core re-scores the open unanswered questions with
it on a `gpu` worker and hands the results here. Each question then carries what the new
model predicts, so the learning-loop admin shows which questions it would now answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings

from apps.chat.answering import OUT_OF_SCOPE_INTENT
from apps.chat.models import UnansweredQuestion
from ml.registry.plugins import BatchScoringHandler, ScoredItem

INTENT_TASK = "chat.intent"


def unanswered_texts(ids: Sequence[int]) -> dict[int, str]:
    """The stored (already masked) text of each question that still exists."""
    return dict(UnansweredQuestion.objects.filter(id__in=ids).values_list("id", "text"))


def unanswered_rescore_ids() -> list[int]:
    """Open questions, newest first: the learning loop's working set.

    Resolved, dismissed and out-of-scope ones are settled; the retention purge
    (CHAT_RETENTION_DAYS) bounds how many open ones there can be.
    """
    return list(
        UnansweredQuestion.objects.filter(state=UnansweredQuestion.State.OPEN)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)
    )


def unanswered_predictions_store(items: Sequence[ScoredItem]) -> None:
    """Write each question's predicted intent, confidence and model version (idempotent)."""
    by_id = {item.item_id: item for item in items}
    questions = list(UnansweredQuestion.objects.filter(id__in=by_id))
    for question in questions:
        item = by_id[question.id]
        question.predicted_intent = item.label
        question.predicted_confidence = round(item.confidence, 4)
        question.predicted_version = item.version
    UnansweredQuestion.objects.bulk_update(
        questions, ["predicted_intent", "predicted_confidence", "predicted_version"]
    )


def unanswered_would_answer(question: UnansweredQuestion) -> bool:
    """The stored prediction names an entry's intent at or above the answer threshold.

    The classifier alone (the bot also weighs retrieval), so it is a hint for the admin,
    not a promise of the bot's reply.
    """
    return (
        bool(question.predicted_intent)
        and question.predicted_intent != OUT_OF_SCOPE_INTENT
        and (question.predicted_confidence or 0.0) >= settings.CHAT_ANSWER_THRESHOLD
    )


def unanswered_scoring_handler() -> BatchScoringHandler:
    return BatchScoringHandler(
        task=INTENT_TASK,
        texts=unanswered_texts,
        store=unanswered_predictions_store,
        recent_ids=unanswered_rescore_ids,
    )

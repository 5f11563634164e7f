"""The learning loop: group unanswered questions, turn them into entries or phrasings.

Phrasings added here have source `learned`; `apps.chat.training.intent_dataset` reads every
phrasing, so they reach the next `chat.intent` fine-tune without any extra step.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.chat.exceptions import ChatError
from apps.chat.models import EntryPhrasing, KnowledgeEntry, OutOfScopeExample, UnansweredQuestion
from apps.chat.services.knowledge import entry_create, phrasing_add_many

logger = logging.getLogger(__name__)

DEFAULT_GROUP_SIMILARITY = 0.75
GROUPING_MAX_QUESTIONS = 500  # the newest ones; an admin page cannot show more usefully
NEAREST_ENTRY_K = 20


def unanswered_group_similarity() -> float:
    """CHAT_UNANSWERED_GROUP_SIMILARITY (cosine, 0..1), 0.75 when the setting is absent."""
    return float(getattr(settings, "CHAT_UNANSWERED_GROUP_SIMILARITY", DEFAULT_GROUP_SIMILARITY))


def unanswered_group_by_similarity(vectors: np.ndarray, *, threshold: float) -> list[list[int]]:
    """Greedy single-pass clustering of L2-normalised vectors by cosine similarity.

    1. Walk the rows in order; each joins the existing group whose centroid is most similar,
       if that similarity is >= threshold, else it starts a new group.
    2. A group's centroid is the normalised mean of its members (updated as they join).
    3. Groups come back largest first (ties: the group that started earlier first), each as
       row indices in their original order.

    Args:
        vectors: (N, D) float array; rows are expected to be L2-normalised.
        threshold: minimum cosine similarity to join a group.
    Returns:
        A list of groups, each a list of row indices; every index appears exactly once.
    """
    if vectors.ndim != 2:
        raise ValueError(f"vectors must be (N, D), got shape {vectors.shape}")
    groups: list[list[int]] = []
    sums: list[np.ndarray] = []  # per group: sum of member vectors, (D,)
    centroids = np.zeros((0, vectors.shape[1]), dtype=np.float32)  # (G, D)
    for i, vector in enumerate(vectors.astype(np.float32)):
        best = -1
        if len(groups):
            similarities = centroids @ vector  # (G,)
            best = int(np.argmax(similarities))
            if similarities[best] < threshold:
                best = -1
        if best < 0:
            groups.append([i])
            sums.append(vector.copy())
            centroids = np.vstack([centroids, _normalised(vector)[None, :]])
        else:
            groups[best].append(i)
            sums[best] += vector
            centroids[best] = _normalised(sums[best])
    order = sorted(range(len(groups)), key=lambda g: (-len(groups[g]), g))
    return [groups[g] for g in order]


def _normalised(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


@dataclass
class UnansweredGroup:
    """Similar open questions, with the entry they come closest to (if the index has any)."""

    questions: list[UnansweredQuestion]
    nearest_entry: KnowledgeEntry | None = None
    nearest_score: float | None = None
    question_ids: list[int] = field(init=False)

    def __post_init__(self) -> None:
        self.question_ids = [q.id for q in self.questions]


def unanswered_groups(
    *, threshold: float | None = None, limit: int = GROUPING_MAX_QUESTIONS
) -> list[UnansweredGroup]:
    """The newest `limit` open questions grouped by meaning, largest group first."""
    from ml.registry.serving import get_encoder

    threshold = unanswered_group_similarity() if threshold is None else threshold
    questions = list(
        UnansweredQuestion.objects.filter(state=UnansweredQuestion.State.OPEN)
        .select_related("message__conversation")
        .order_by("-created_at", "-id")[:limit]
    )
    if not questions:
        return []
    questions.reverse()  # oldest first: the first question of a group is its earliest
    vectors = get_encoder().encode([q.text for q in questions])  # (N, D), normalised
    groups = []
    for indices in unanswered_group_by_similarity(vectors, threshold=threshold):
        entry, score = _nearest_entry(_normalised(vectors[indices].sum(axis=0)))
        groups.append(
            UnansweredGroup(
                questions=[questions[i] for i in indices], nearest_entry=entry, nearest_score=score
            )
        )
    return groups


def _nearest_entry(vector: np.ndarray) -> tuple[KnowledgeEntry | None, float | None]:
    from apps.chat.kb_index import kb_index_search

    scores, phrasing_ids = kb_index_search(vector.astype(np.float32), NEAREST_ENTRY_K)
    hits = [(int(pid), float(s)) for pid, s in zip(phrasing_ids, scores, strict=True) if pid >= 0]
    if not hits:
        return None, None
    entry_of = dict(
        EntryPhrasing.objects.filter(
            id__in=[pid for pid, _ in hits], entry__active=True
        ).values_list("id", "entry_id")
    )
    for pid, score in hits:  # best first
        if pid in entry_of:
            return KnowledgeEntry.objects.get(id=entry_of[pid]), score
    return None, None


def _open_questions(question_ids: Sequence[int]) -> list[UnansweredQuestion]:
    questions = list(
        UnansweredQuestion.objects.select_for_update()
        .filter(id__in=question_ids, state=UnansweredQuestion.State.OPEN)
        .order_by("created_at", "id")
    )
    if not questions:
        raise ChatError(
            "None of the selected questions is still open; reload the list.",
            code="no_open_questions",
        )
    return questions


def _resolve(questions: Sequence[UnansweredQuestion], entry: KnowledgeEntry) -> int:
    return UnansweredQuestion.objects.filter(id__in=[q.id for q in questions]).update(
        state=UnansweredQuestion.State.RESOLVED, resolved_entry=entry
    )


def unanswered_entry_create(
    *,
    question_ids: Sequence[int],
    title: str,
    answer: str,
    phrasings: Sequence[str] = (),
    intent: str = "",
    tags: Sequence[str] = (),
    language: str = "en",
    active: bool = True,
) -> KnowledgeEntry:
    """A new entry answering these questions; they become its `learned` phrasings."""
    with transaction.atomic():
        questions = _open_questions(question_ids)
        entry = entry_create(
            title=title,
            answer=answer,
            intent=intent,
            tags=tags,
            language=language,
            active=active,
            phrasings=phrasings,
            source=EntryPhrasing.Source.LEARNED,
        )
        # The questions themselves are phrasings even if the admin trimmed the list.
        phrasing_add_many(
            entry=entry, texts=[q.text for q in questions], source=EntryPhrasing.Source.LEARNED
        )
        resolved = _resolve(questions, entry)
    logger.info("unanswered resolved=%s by new entry=%s", resolved, entry.id)
    return entry


def unanswered_attach(*, question_ids: Sequence[int], entry: KnowledgeEntry) -> int:
    """Add the questions as `learned` phrasings of an existing entry; returns phrasings added."""
    with transaction.atomic():
        questions = _open_questions(question_ids)
        added = phrasing_add_many(
            entry=entry, texts=[q.text for q in questions], source=EntryPhrasing.Source.LEARNED
        )
        resolved = _resolve(questions, entry)
        KnowledgeEntry.objects.filter(id=entry.id).update(updated_at=timezone.now())
    logger.info("unanswered resolved=%s attached to entry=%s added=%s", resolved, entry.id, added)
    return added


def unanswered_mark_out_of_scope(*, question_ids: Sequence[int]) -> int:
    """Open questions the knowledge base should not answer become out-of-scope examples.

    The next intent fine-tune learns them as OUT_OF_SCOPE_INTENT, so the bot offers a person
    for questions like them instead of stretching an entry to fit.
    """
    with transaction.atomic():
        questions = list(
            UnansweredQuestion.objects.select_for_update().filter(
                id__in=question_ids, state=UnansweredQuestion.State.OPEN
            )
        )
        out_of_scope_examples_add(
            texts=[q.text for q in questions], source=OutOfScopeExample.Source.MARKED
        )
        marked = UnansweredQuestion.objects.filter(id__in=[q.id for q in questions]).update(
            state=UnansweredQuestion.State.OUT_OF_SCOPE
        )
    logger.info("unanswered marked out of scope=%s", marked)
    return marked


def out_of_scope_examples_add(*, texts: Sequence[str], source: str) -> int:
    """Add examples (whitespace-normalised, at most 500 characters); repeats are skipped."""
    limit = OutOfScopeExample._meta.get_field("text").max_length
    clean = {" ".join(text.split())[:limit] for text in texts} - {""}
    existing = set(OutOfScopeExample.objects.filter(text__in=clean).values_list("text", flat=True))
    OutOfScopeExample.objects.bulk_create(
        [OutOfScopeExample(text=text, source=source) for text in sorted(clean - existing)],
        ignore_conflicts=True,  # a concurrent add of the same text
    )
    return len(clean - existing)


def unanswered_dismiss(*, question_ids: Sequence[int]) -> int:
    """Mark open questions as not worth an answer or a lesson (spam, noise)."""
    dismissed = UnansweredQuestion.objects.filter(
        id__in=question_ids, state=UnansweredQuestion.State.OPEN
    ).update(state=UnansweredQuestion.State.DISMISSED)
    logger.info("unanswered dismissed=%s", dismissed)
    return dismissed

"""The `chat.intent` training task: labelled questions, and decision points from held-out data.

`intent_examples` and `intent_held_out_scores` are Django-free (the registry's training hook and
`bench/chat_field.py` both run them); `intent_dataset` and `intent_decision_points_for_training`
read the database and settings.
"""

from __future__ import annotations

import logging
import random
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from apps.chat.answering import OUT_OF_SCOPE_INTENT, ScoredQuestion, best_intent, score_question
from ml.training import Example, TrainConfig
from ml.training.decision import (
    HELD_OUT_SHARE,
    DecisionPoints,
    DecisionTargets,
    HeldOutScore,
    decision_points_choose,
    resubstitution_blend,
)

logger = logging.getLogger(__name__)

# Folds of the cross-validation that gives each trained intent model its decision points. 3 is
# the most a 6-phrasing entry allows while every fold still trains on 4 phrasings of it; each
# fold is a full fine-tune on 2/3 of the data, so CV roughly doubles a run's training time.
DECISION_FOLDS = 3
RETRIEVAL_K = 50  # as the service (apps.chat.services.answering.RETRIEVAL_K)


def intent_examples(
    *,
    phrasings: Iterable[tuple[str, str]],
    liked: Iterable[tuple[str, str]],
    out_of_scope: Iterable[str],
) -> list[Example]:
    """Phrasings, then liked questions, then out-of-scope examples; a text keeps its first label.

    Args:
        phrasings: (text, intent) of every phrasing of every active entry.
        liked: (question, intent) of answers a customer gave a thumbs-up.
        out_of_scope: questions the knowledge base should not answer.
    """
    examples: list[Example] = []
    seen: set[str] = set()
    rows = [*phrasings, *liked, *((text, OUT_OF_SCOPE_INTENT) for text in out_of_scope)]
    for text, label in rows:
        if text not in seen:
            seen.add(text)
            examples.append(Example(text=text, label=label))
    return examples


def intent_dataset() -> list[Example]:
    """Every phrasing of every active entry, plus customer questions whose answer got a thumbs-up.

    Unanswered questions an admin attached to an entry became phrasings, so they are in too.
    Out-of-scope examples (admin, demo, or unanswered questions marked so) are examples of
    OUT_OF_SCOPE_INTENT; a text that is also a phrasing or a liked question keeps its entry.
    """
    from apps.chat.models import EntryPhrasing, Message, OutOfScopeExample

    phrasings = (
        EntryPhrasing.objects.filter(entry__active=True)
        .order_by("id")
        .values_list("text", "entry__intent")
    )
    liked = (
        Message.objects.filter(
            sender=Message.Sender.BOT,
            kind=Message.Kind.ANSWER,
            feedback=1,
            entry__active=True,
            reply_to__isnull=False,
        )
        .order_by("id")
        .values_list("reply_to__text", "entry__intent")
    )
    out_of_scope = OutOfScopeExample.objects.order_by("id").values_list("text", flat=True)
    return intent_examples(phrasings=phrasings, liked=liked, out_of_scope=out_of_scope)


@dataclass(frozen=True)
class Retrieval:
    """Phrasings as a retrieval index would hold them: unit vectors and their entry intents."""

    vectors: np.ndarray  # (N, D) float32, unit rows
    intents: list[str]

    def hits(self, query: np.ndarray, k: int = RETRIEVAL_K) -> list[tuple[str, float]]:
        """(intent, cosine) of the top-k phrasings, best first (FAISS inner product on units)."""
        cosines = self.vectors @ query
        top = np.argsort(-cosines, kind="stable")[:k]
        return [(self.intents[i], float(cosines[i])) for i in top]


def question_score(
    *,
    query: np.ndarray,
    retrieval: Retrieval,
    intent_probabilities: dict[str, float] | None,
) -> tuple[ScoredQuestion, dict[int, str]]:
    """`score_question` for one encoded question; entry ids number the sorted intents from 1."""
    entry_of = {intent: i for i, intent in enumerate(sorted(set(retrieval.intents)), start=1)}
    intent_of = {i: intent for intent, i in entry_of.items()}
    hits = [(entry_of[intent], cosine) for intent, cosine in retrieval.hits(query)]
    entry_intents = {eid: intent_of[eid] for eid, _ in hits}
    top = best_intent(intent_probabilities)
    if top in entry_of:
        entry_intents[entry_of[top]] = top
    scored = score_question(
        hits=hits, entry_intents=entry_intents, intent_probabilities=intent_probabilities
    )
    return scored, intent_of


def held_out_score(
    *, label: str, query: np.ndarray, retrieval: Retrieval, probabilities: dict[str, float]
) -> HeldOutScore:
    scored, intent_of = question_score(
        query=query, retrieval=retrieval, intent_probabilities=probabilities
    )
    ranked = [intent_of[r.entry_id] for r in scored.ranked]
    return HeldOutScore(
        confidence=scored.confidence,
        top3_confidence=scored.top3_confidence,
        in_scope=label != OUT_OF_SCOPE_INTENT,
        top1_correct=ranked[:1] == [label],
        top3_correct=label in ranked[:3],
    )


def stratified_folds(examples: Sequence[Example], folds: int, seed: int) -> list[int]:
    """A fold number per example, each label dealt round-robin after a seeded shuffle."""
    by_label: dict[str, list[int]] = {}
    for i, example in enumerate(examples):
        by_label.setdefault(example.label, []).append(i)
    rng = random.Random(seed)  # noqa: S311 - reproducible folds, not security
    assignment = [0] * len(examples)
    offset = 0
    for label in sorted(by_label):
        indices = by_label[label]
        rng.shuffle(indices)
        for position, index in enumerate(indices):
            assignment[index] = (position + offset) % folds
        offset += len(indices)  # small labels don't all start in fold 0
    return assignment


def intent_held_out_scores(
    config: TrainConfig,
    examples: Sequence[Example],
    *,
    vectors: np.ndarray,
    folds: int = DECISION_FOLDS,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> list[HeldOutScore]:
    """Score every example as serving would (`question_score`), by a model that never saw it.

    Each fold's examples are scored by an intent model fine-tuned (with `config`) on the other
    folds and retrieved against the other folds' in-scope texts (the phrasings an index holds).
    """
    from ml.training import load_text_model, train_text_model

    fold_of = stratified_folds(examples, folds, config.seed)
    scores: list[HeldOutScore] = []
    with tempfile.TemporaryDirectory(prefix="intent-cv-") as work:
        for fold in range(folds):
            train = [e for e, f in zip(examples, fold_of, strict=True) if f != fold]
            held = [i for i, f in enumerate(fold_of) if f == fold]
            if not held or len({e.label for e in train}) < 2:
                continue

            def fold_progress(fraction: float, message: str, fold: int = fold) -> None:
                if progress is not None:
                    progress((fold + fraction) / folds, f"fold {fold + 1}/{folds}: {message}")

            result = train_text_model(
                config,
                train,
                Path(work) / f"fold{fold}",
                progress=fold_progress,
                should_stop=should_stop,
            )
            model = load_text_model(result.artifact_dir, device=config.device)
            index_rows = [
                i
                for i, f in enumerate(fold_of)
                if f != fold and examples[i].label != OUT_OF_SCOPE_INTENT
            ]
            retrieval = Retrieval(
                vectors=vectors[index_rows], intents=[examples[i].label for i in index_rows]
            )
            scores.extend(_scored(model, [examples[i] for i in held], vectors[held], retrieval))
            del model
    return scores


def _scored(
    model: Any, examples: Sequence[Example], vectors: np.ndarray, retrieval: Retrieval
) -> list[HeldOutScore]:
    probs = model.predict_proba([e.text for e in examples])
    return [
        held_out_score(
            label=example.label,
            query=vectors[row],
            retrieval=retrieval,
            probabilities=dict(zip(model.labels, map(float, probs[row]), strict=True)),
        )
        for row, example in enumerate(examples)
    ]


def intent_resubstitution_scores(
    model_dir: Path, examples: Sequence[Example], *, vectors: np.ndarray, device: str
) -> list[HeldOutScore]:
    """The final model and index on their own training examples (the optimistic side of .632)."""
    from ml.training import load_text_model

    model = load_text_model(model_dir, device=device)
    rows = [i for i, e in enumerate(examples) if e.label != OUT_OF_SCOPE_INTENT]
    retrieval = Retrieval(vectors=vectors[rows], intents=[examples[i].label for i in rows])
    return _scored(model, examples, vectors, retrieval)


def intent_decision_scores(
    config: TrainConfig,
    examples: Sequence[Example],
    *,
    encode: Callable[[list[str]], np.ndarray],
    model_dir: Path | None,
    folds: int = DECISION_FOLDS,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[list[HeldOutScore], list[HeldOutScore]]:
    """(cross-validated held-out scores, the final model's scores on its training data)."""
    vectors = encode([e.text for e in examples])
    held_out = intent_held_out_scores(
        config, examples, vectors=vectors, folds=folds, progress=progress, should_stop=should_stop
    )
    if model_dir is None:
        return held_out, []
    resubstitution = intent_resubstitution_scores(
        model_dir, examples, vectors=vectors, device=config.device
    )
    return held_out, resubstitution


def intent_decision_points(
    config: TrainConfig,
    examples: Sequence[Example],
    *,
    encode: Callable[[list[str]], np.ndarray],
    targets: DecisionTargets,
    model_dir: Path | None = None,
    folds: int = DECISION_FOLDS,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> tuple[DecisionPoints, dict[str, Any]]:
    """Cross-validate, then choose the points; returns them and how they were obtained.

    `model_dir`: the model trained on all `examples`; its scores on them are blended in
    (`resubstitution_blend`), which corrects the pessimism of folds trained on less data.
    """
    started = time.monotonic()
    held_out, resubstitution = intent_decision_scores(
        config,
        examples,
        encode=encode,
        model_dir=model_dir,
        folds=folds,
        progress=progress,
        should_stop=should_stop,
    )
    points = decision_points_choose(resubstitution_blend(held_out, resubstitution), targets=targets)
    return points, {
        "folds": folds,
        "held_out": len(held_out),
        "resubstitution": len(resubstitution),
        "held_out_share": HELD_OUT_SHARE if resubstitution else 1.0,
        "seconds": round(time.monotonic() - started, 1),
    }


def intent_decision_metrics(
    config: TrainConfig,
    examples: Sequence[Example],
    *,
    artifact_dir: Path | None = None,
    progress: Callable[[float, str], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """The registry's post-training hook for chat.intent: {"decision": ..., "decision_cv": ...}.

    Uses the serving encoder (the knowledge-base index's) and the admin's targets.
    """
    from apps.chat.decision_points import decision_targets_get
    from ml.registry.serving import get_encoder

    try:
        points, info = intent_decision_points(
            config,
            examples,
            encode=lambda texts: get_encoder().encode(texts),
            targets=decision_targets_get(),
            model_dir=artifact_dir,
            progress=progress,
            should_stop=should_stop,
        )
    except ValueError as exc:  # too little data to hold any out: serving keeps the defaults
        logger.warning("chat.intent decision points not chosen: %s", exc)
        return {"decision_error": str(exc)}
    logger.info(
        "chat.intent decision points answer=%.4f suggest=%.4f met=%s cv_seconds=%s",
        points.answer,
        points.suggest,
        points.met,
        info["seconds"],
    )
    return {"decision": points.to_dict(), "decision_cv": info}

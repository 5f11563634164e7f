"""The kinds of model task, named once for the trainer, the artifact and the registry.

Stored values (`"classification"`, `"pair"`, `"embedding"`) are what registry rows and
artifact manifests hold, so they never change; the enum gives them one home instead of string
literals repeated across the code.
"""

from __future__ import annotations

from enum import StrEnum


class TaskKind(StrEnum):
    """What a model does with its input.

    CLASSIFICATION: one text -> one of N labels.
    PAIR: (text, text_pair) -> label, scored by the positive label's probability (ranking).
    EMBEDDING: text -> vector (the base encoder's job; `train_text_model` does not train it).
    NEXT_ITEM: a user's recent items -> a score per catalogue item for what comes next
        (ml.recsys: a sequence model over the items' text vectors, trained on interactions).
    """

    CLASSIFICATION = "classification"
    PAIR = "pair"
    EMBEDDING = "embedding"
    NEXT_ITEM = "next_item"

    @property
    def label(self) -> str:
        """Human-readable name for forms and the admin."""
        return _LABELS[self]

    @property
    def takes_pairs(self) -> bool:
        """True when every example (and every request) carries a second text."""
        return self is TaskKind.PAIR


_LABELS = {
    TaskKind.CLASSIFICATION: "Classification",
    TaskKind.PAIR: "text-pair scoring",
    TaskKind.EMBEDDING: "embedding",
    TaskKind.NEXT_ITEM: "next-item ranking",
}

# What `train_text_model` fine-tunes: an encoder with a classification head.
TRAINABLE_KINDS: tuple[TaskKind, ...] = (TaskKind.CLASSIFICATION, TaskKind.PAIR)

# What the registry trains: the text models above, and next-item rankers (ml.recsys), whose
# datasets are interactions + item texts instead of labelled examples.
REGISTRY_KINDS: tuple[TaskKind, ...] = (*TRAINABLE_KINDS, TaskKind.NEXT_ITEM)

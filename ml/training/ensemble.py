"""A seed ensemble: several classifiers trained on the same labels, served as one.

Averaging the probabilities of models that differ only in their seed smooths out the variance of
a small fine-tuning set (the head's initialisation, batch order, dropout). It costs one forward
pass per member, so it is also the natural teacher for distilling a single fast student.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ml.training.model import TextModel


class TextModelEnsemble:
    """Mean of the members' probabilities; the same `predict_proba` / `predict` as a TextModel,
    so batch scoring (`ml.serving.scoring.texts_score`) serves it unchanged."""

    def __init__(self, members: Sequence[TextModel]):
        if not members:
            raise ValueError("an ensemble needs at least one member model")
        labels = list(members[0].labels)
        for member in members[1:]:
            if list(member.labels) != labels:
                raise ValueError(
                    f"ensemble members disagree on labels: {labels} vs {list(member.labels)} "
                    f"({member.artifact_dir})"
                )
            if member.task_type != members[0].task_type:
                raise ValueError("ensemble members must all be of the same task type")
        self.members = list(members)
        self.labels = labels

    def predict_proba(
        self,
        texts: Sequence[str],
        text_pairs: Sequence[str] | None = None,
        *,
        batch_size: int = 64,
    ) -> np.ndarray:
        """float32 (N, num_labels): the members' probabilities averaged; rows sum to 1."""
        total = sum(
            m.predict_proba(texts, text_pairs, batch_size=batch_size).astype(np.float64)
            for m in self.members
        )
        return (total / len(self.members)).astype(np.float32)

    def predict(
        self, texts: Sequence[str], text_pairs: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """(label, confidence) of the most probable label for each input."""
        probs = self.predict_proba(texts, text_pairs)
        best = probs.argmax(axis=1)
        return [(self.labels[i], float(probs[row, i])) for row, i in enumerate(best)]

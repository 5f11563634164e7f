"""Embedding matches: a topic's own threshold, else the default; index padding is ignored."""

from __future__ import annotations

import numpy as np

from apps.sentiment.models import Topic
from apps.sentiment.understanding.matching import similarity_matches


def test_scores_at_or_above_each_topics_threshold_match_and_padding_never_does(settings):
    settings.SENTIMENT_TOPIC_SIMILARITY_THRESHOLD = 0.36
    default = Topic(id=1, name="default")
    strict = Topic(id=2, name="strict", similarity_threshold=0.6)
    scores = np.array([[0.70, 0.36, 0.35], [0.65, 0.59, -np.inf]], dtype=np.float32)
    ids = np.array([[10, 11, 12], [10, 11, -1]], dtype=np.int64)

    found = similarity_matches([default, strict], scores, ids)

    assert {key: reason.score for key, reason in found.items()} == {
        (10, 1): 0.7,
        (11, 1): 0.36,
        (10, 2): 0.65,
    }
    assert {reason.method for reason in found.values()} == {"embedding"}

"""Open unanswered questions are grouped by meaning: paraphrases together, the rest apart."""

from __future__ import annotations

import re

import numpy as np
import pytest
from django.urls import reverse

from apps.chat import services
from apps.chat.models import UnansweredQuestion
from tests.chat.factories import KnowledgeEntryFactory, UnansweredQuestionFactory

PASSWORD = [
    "how do I reset my password",
    "I forgot my password, how can I reset it",
    "password reset is not working",
]
HOURS = ["what are your opening hours", "when are you open on weekends"]
LONERS = ["do you ship to Canada", "can I pay with bitcoin"]


def _unit(rows: list[list[float]]) -> np.ndarray:
    vectors = np.array(rows, dtype=np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_grouping_joins_close_vectors_and_sorts_largest_first():
    vectors = _unit([[1, 0, 0], [0, 1, 0], [0.95, 0.1, 0], [0, 0, 1], [0.9, 0, 0.2], [0, 1, 0.1]])
    groups = services.unanswered_group_by_similarity(vectors, threshold=0.9)
    assert groups == [[0, 2, 4], [1, 5], [3]]


def test_grouping_threshold_one_keeps_every_distinct_vector_alone():
    vectors = _unit([[1, 0], [0.8, 0.6], [0.6, 0.8]])
    assert services.unanswered_group_by_similarity(vectors, threshold=0.999) == [[0], [1], [2]]
    assert services.unanswered_group_by_similarity(vectors, threshold=0.0) == [[0, 1, 2]]
    assert services.unanswered_group_by_similarity(np.zeros((0, 4)), threshold=0.5) == []


def test_threshold_comes_from_the_setting_with_a_default(settings):
    assert services.unanswered_group_similarity() == 0.75
    settings.CHAT_UNANSWERED_GROUP_SIMILARITY = 0.6
    assert services.unanswered_group_similarity() == 0.6


def _groups_on_page(html: str) -> list[set[int]]:
    blocks = re.split(r'<div class="group" id="group-\d+">', html)[1:]
    return [{int(i) for i in re.findall(r'data-question-id="(\d+)"', block)} for block in blocks]


@pytest.mark.django_db
def test_grouped_page_puts_paraphrases_together_and_unrelated_questions_apart(
    admin_client, artifacts_dir
):
    password_entry = KnowledgeEntryFactory(title="Reset your password", intent="password_reset")
    KnowledgeEntryFactory(title="Branch addresses", intent="branches")
    services.kb_index_rebuild()
    ids = {}
    for text in [*LONERS[:1], *PASSWORD[:2], *HOURS, *PASSWORD[2:], *LONERS[1:]]:
        ids[text] = UnansweredQuestionFactory(text=text).id
    UnansweredQuestionFactory(text="old resolved question", state=UnansweredQuestion.State.RESOLVED)

    response = admin_client.get(reverse("admin:chat_unansweredquestion_grouped"))

    html = response.content.decode()
    groups = _groups_on_page(html)
    assert groups[0] == {ids[t] for t in PASSWORD}  # largest group first
    assert groups[1] == {ids[t] for t in HOURS}
    assert sorted(groups[2:], key=min) == sorted([{ids[t]} for t in LONERS], key=min)
    assert "old resolved question" not in html
    first_group = html[html.index('id="group-1"') : html.index('id="group-2"')]
    nearest = reverse("admin:chat_knowledgeentry_change", args=[password_entry.id])
    assert f'class="nearest" href="{nearest}"' in first_group


@pytest.mark.django_db
def test_grouped_page_without_open_questions(admin_client):
    response = admin_client.get(reverse("admin:chat_unansweredquestion_grouped"))
    assert "No open questions" in response.content.decode()

"""Out-of-scope examples teach the bot to offer a person for questions like them.

An admin adds them by hand or marks unanswered questions (grouped page or list action); the
demo ships some. The next `chat.intent` fine-tune learns them as a reserved label; the bot's
confidence in any entry is then scaled by the classifier's P(in scope), so such questions are
handed off instead of answered.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from apps.chat import services
from apps.chat.answering import OUT_OF_SCOPE_INTENT, RankedEntry, Thresholds, decide
from apps.chat.models import KnowledgeEntry, OutOfScopeExample, UnansweredQuestion
from apps.chat.training import intent_dataset
from tests.chat.factories import (
    EntryPhrasingFactory,
    UnansweredQuestionFactory,
)

CHANGELIST = "admin:chat_unansweredquestion_changelist"
CRYPTO = [
    "can I buy bitcoin in the app",
    "do you support crypto trading",
    "sell my ethereum",
    "which cryptocurrencies can I trade",
    "crypto wallet address",
    "bitcoin price today",
    "send dogecoin to a friend",
    "is crypto staking available",
]


@pytest.fixture
def intent_model_forgotten_after():  # noqa: ANN201
    """The promoted model must not outlive this test in the process's predictor cache."""
    from ml.registry import serving

    yield
    serving.predictor_cache.invalidate("chat.intent")


def _examples() -> set[tuple[str, str]]:
    return {(e.text, e.label) for e in intent_dataset()}


@pytest.mark.django_db
def test_marked_from_the_grouped_page_and_as_an_action_they_become_training_examples(
    admin_client,
):
    first = UnansweredQuestionFactory(text="can I buy bitcoin here")
    second = UnansweredQuestionFactory(text="what's the weather tomorrow")
    left_open = UnansweredQuestionFactory(text="where is my card")
    dismissed = UnansweredQuestionFactory(text="asdfgh")
    services.unanswered_dismiss(question_ids=[dismissed.id])

    response = admin_client.post(
        reverse("admin:chat_unansweredquestion_out_of_scope"), {"ids": str(first.id)}, follow=True
    )
    assert "1 question(s) marked out of scope" in response.content.decode()
    admin_client.post(
        reverse(CHANGELIST), {"action": "mark_out_of_scope", "_selected_action": [second.id]}
    )

    states = dict(UnansweredQuestion.objects.values_list("text", "state"))
    assert states == {
        "can I buy bitcoin here": "out_of_scope",
        "what's the weather tomorrow": "out_of_scope",
        "where is my card": "open",
        "asdfgh": "dismissed",
    }
    assert dict(OutOfScopeExample.objects.values_list("text", "source")) == {
        "can I buy bitcoin here": "marked",
        "what's the weather tomorrow": "marked",
    }
    examples = _examples()
    assert ("can I buy bitcoin here", OUT_OF_SCOPE_INTENT) in examples
    assert ("what's the weather tomorrow", OUT_OF_SCOPE_INTENT) in examples
    assert not {text for text, _ in examples} & {left_open.text, dismissed.text}


@pytest.mark.django_db
def test_an_admin_adds_examples_by_hand(admin_client):
    response = admin_client.post(
        reverse("admin:chat_outofscopeexample_add"), {"text": "do you sell car insurance"}
    )
    assert response.status_code == 302
    again = admin_client.post(
        reverse("admin:chat_outofscopeexample_add"), {"text": "do you sell car insurance"}
    )
    assert again.status_code == 200 and "already exists" in again.content.decode()

    assert ("do you sell car insurance", OUT_OF_SCOPE_INTENT) in _examples()
    assert OutOfScopeExample.objects.get().source == "manual"


@pytest.mark.django_db
def test_json_import_and_export_carry_the_examples(admin_client):
    import json

    document = {
        "entries": [{"title": "When will my card arrive?", "answer": "In 5 days."}],
        "out_of_scope": ["do you sell car insurance", "  do you sell   car insurance ", "hi"],
    }
    result = services.kb_import(content=json.dumps(document).encode(), file_format="json")

    assert (result.created, result.out_of_scope_added) == (1, 2)
    assert set(OutOfScopeExample.objects.values_list("text", "source")) == {
        ("do you sell car insurance", "import"),
        ("hi", "import"),
    }
    exported = json.loads(services.kb_export(file_format="json"))
    assert exported["out_of_scope"] == ["do you sell car insurance", "hi"]
    again = services.kb_import(content=json.dumps(exported).encode(), file_format="json")
    assert again.out_of_scope_added == 0 and again.updated == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("out_of_scope", "message"),
    [("not a list", "must be a list"), (["fine", 3], "item 2 is not")],
)
def test_a_bad_out_of_scope_list_is_a_form_error(admin_client, out_of_scope, message):
    import json

    from django.core.files.uploadedfile import SimpleUploadedFile

    body = json.dumps({"entries": [], "out_of_scope": out_of_scope}).encode()
    response = admin_client.post(
        reverse("admin:chat_knowledgeentry_import"),
        {"file": SimpleUploadedFile("kb.json", body), "file_format": "json"},
    )

    assert response.status_code == 200 and message in response.content.decode()
    assert not OutOfScopeExample.objects.exists()


@pytest.mark.django_db
def test_the_demo_ships_examples_once(artifacts_dir):
    from apps.chat.demo_data import load_demo_knowledge_base

    first = load_demo_knowledge_base()
    count = OutOfScopeExample.objects.filter(source="demo").count()
    second = load_demo_knowledge_base()

    assert count >= 20 and f"{count} out-of-scope examples added" in first
    assert "0 out-of-scope examples added" in second
    assert OutOfScopeExample.objects.count() == count
    labels = [label for _, label in _examples()]
    assert labels.count(OUT_OF_SCOPE_INTENT) == count


@pytest.mark.django_db
def test_a_question_that_is_also_a_phrasing_keeps_its_entry_label():
    phrasing = EntryPhrasingFactory(text="freeze my card")
    question = UnansweredQuestionFactory(text="freeze my card")
    services.unanswered_mark_out_of_scope(question_ids=[question.id])

    labels = [label for text, label in _examples() if text == "freeze my card"]

    assert labels == [phrasing.entry.intent]


@pytest.mark.django_db
def test_only_open_questions_can_be_marked(admin_client):
    resolved = UnansweredQuestionFactory(state=UnansweredQuestion.State.RESOLVED)

    assert services.unanswered_mark_out_of_scope(question_ids=[resolved.id]) == 0
    response = admin_client.post(
        reverse("admin:chat_unansweredquestion_out_of_scope"), {"ids": "x"}, follow=True
    )
    assert "No questions selected" in response.content.decode()


@pytest.mark.django_db
def test_the_label_is_reserved_for_entries(admin_client):
    result = services.kb_import(
        content=f"title,answer,intent\nQ?,A.,{OUT_OF_SCOPE_INTENT}\n".encode(), file_format="csv"
    )
    assert not result.created and "reserved" in str(result.errors)

    response = admin_client.post(
        reverse("admin:chat_knowledgeentry_add"),
        {
            "title": "Q?",
            "intent": OUT_OF_SCOPE_INTENT,
            "answer": "A.",
            "tags": "[]",
            "language": "en",
            "active": "on",
            "phrasings-TOTAL_FORMS": "0",
            "phrasings-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200 and "reserved for out-of-scope" in response.content.decode()
    assert not KnowledgeEntry.objects.exists()


@pytest.mark.parametrize(
    ("out_of_scope", "action", "confidence"),
    [(0.0, "answer", 0.95), (0.1, "suggest", 0.855), (0.6, "handoff", 0.38)],
)
def test_confidence_is_the_entry_score_times_the_probability_of_being_in_scope(
    out_of_scope, action, confidence
):
    ranked = [RankedEntry(entry_id=1, score=0.95, retrieval_score=0.9, intent_probability=0.9)]

    decision = decide(
        ranked, Thresholds(answer=0.9, suggest=0.5), out_of_scope_probability=out_of_scope
    )

    assert decision.action == action
    assert decision.confidence == pytest.approx(confidence)
    with pytest.raises(ValueError, match="out_of_scope_probability"):
        decide(ranked, Thresholds(answer=0.9, suggest=0.5), out_of_scope_probability=1.5)


@pytest.mark.django_db(transaction=True)
def test_after_a_fine_tune_a_question_like_the_marked_ones_is_handed_off(
    ws_kb, tiny_model_dir, artifacts_dir, intent_model_forgotten_after
):
    from ml.registry import services as registry
    from ml.registry import serving
    from tests.conftest import TINY_HYPERPARAMETERS

    before = services.answer_question("can I trade bitcoin with you")
    for text in CRYPTO:
        UnansweredQuestionFactory(text=text)
    services.unanswered_mark_out_of_scope(
        question_ids=list(UnansweredQuestion.objects.values_list("id", flat=True))
    )
    version = registry.model_version_queue(
        task="chat.intent",
        base_model=str(tiny_model_dir),
        hyperparameters={**TINY_HYPERPARAMETERS, "epochs": 30, "validation_fraction": 0.1},
    )
    registry.model_version_train(version_id=version.id)  # a no-op if the eager queue ran it
    version.refresh_from_db()
    assert version.status == "ready", version.error
    registry.model_version_promote(version=version)
    serving.predictor_cache.invalidate("chat.intent")

    after = services.answer_question("can I trade bitcoin with you")
    in_scope = services.answer_question("my new card still hasn't arrived")

    # Retrieval alone stretches the nearest of four entries to fit, confidently.
    assert before.decision.action == "answer"
    assert before.evidence()["out_of_scope_probability"] is None  # no model yet
    assert after.scored.out_of_scope_probability > 0.5
    assert after.decision.action == "handoff"
    assert after.decision.confidence < before.decision.confidence
    assert in_scope.scored.out_of_scope_probability < 0.5
    assert in_scope.decision.ranked[0].entry_id == ws_kb["card_arrival"].id

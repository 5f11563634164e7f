"""A chat.intent fine-tune chooses and stores its own decision points; serving decides with them.

The points come from cross-validation over the knowledge base's own examples (not Banking77's
figures); the production version's points replace the settings' thresholds, and a model
without points (or no model) falls back to the settings.
"""

from __future__ import annotations

import pytest

from apps.chat import services
from apps.chat.models import OutOfScopeExample
from ml.registry.models import ModelVersion

pytestmark = pytest.mark.django_db(transaction=True)

QUESTION = "my new card still hasn't arrived"


@pytest.fixture
def intent_model_forgotten_after():  # noqa: ANN201
    from ml.registry import serving

    yield
    serving.predictor_cache.invalidate("chat.intent")


def _promote(version: ModelVersion) -> None:
    from ml.registry import services as registry
    from ml.registry import serving

    registry.model_version_promote(version=version)
    serving.predictor_cache.invalidate("chat.intent")


def _copy(version: ModelVersion, *, decision: dict | None) -> ModelVersion:
    """Another ready version on the same artifact, with other (or no) stored points."""
    metrics = {k: v for k, v in version.metrics.items() if k != "decision"}
    if decision is not None:
        metrics["decision"] = decision
    last = ModelVersion.objects.filter(task="chat.intent").order_by("-version").first()
    return ModelVersion.objects.create(
        task="chat.intent",
        version=last.version + 1,
        base_model=version.base_model,
        artifact_path=version.artifact_path,
        status=ModelVersion.Status.READY,
        metrics=metrics,
    )


def test_a_fine_tune_stores_points_and_serving_decides_with_the_promoted_versions(
    ws_kb, tiny_model_dir, artifacts_dir, settings, intent_model_forgotten_after
):
    from ml.registry import services as registry
    from tests.conftest import TINY_HYPERPARAMETERS

    settings.CHAT_ANSWER_THRESHOLD = settings.CHAT_SUGGEST_THRESHOLD = 1.0  # never answers
    services.out_of_scope_examples_add(
        texts=["what's the weather tomorrow", "tell me a joke", "buy bitcoin for me"],
        source=OutOfScopeExample.Source.MANUAL,
    )
    version = registry.model_version_queue(
        task="chat.intent", base_model=str(tiny_model_dir), hyperparameters=TINY_HYPERPARAMETERS
    )
    registry.model_version_train(version_id=version.id)
    version.refresh_from_db()
    assert version.status == "ready", version.error

    # 1. The run stored its points, how they did on held-out data, and the trade-off curve.
    decision = version.metrics["decision"]
    assert 0.0 <= decision["answer"] <= 1.0 and 0.0 <= decision["suggest"] <= 1.0
    assert decision["suggest_on"] == "top3"  # P(right entry among the 3 offered)
    phrasings = sum(e.phrasings.count() for e in ws_kb.values())
    # Each example scored twice: held out by a fold's model, and by the final model (.632).
    assert decision["n_in_scope"] == 2 * phrasings and decision["n_out_of_scope"] == 2 * 3
    assert version.metrics["decision_cv"]["held_out"] == phrasings + 3
    assert version.metrics["decision_cv"]["held_out_share"] == pytest.approx(0.632)
    assert decision["targets"]["answer_precision"] == settings.CHAT_TARGET_ANSWER_PRECISION
    curve = decision["curve"]
    assert curve[0]["threshold"] == 0.0 and curve[0]["answered"] == 1.0
    assert version.metrics["decision_cv"]["folds"] == 3

    # 2. Without stored points the settings decide (here: never answer).
    _promote(_copy(version, decision=None))
    before = services.answer_question(QUESTION)
    assert before.thresholds.source == "settings"
    assert before.decision.action == "handoff"

    # 3. The promoted version's own points decide instead, for the same question and model.
    _promote(_copy(version, decision={**decision, "answer": 0.0, "suggest": 0.0}))
    after = services.answer_question(QUESTION)
    assert after.thresholds.source == "model"
    assert after.decision.action == "answer"
    thresholds = after.evidence()["thresholds"]
    assert thresholds == {"answer": 0.0, "suggest": 0.0, "suggest_on": "top3", "source": "model"}
    assert after.decision.confidence == pytest.approx(before.decision.confidence)

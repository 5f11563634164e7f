"""Promoting a chat.intent version re-scores the open unanswered questions on a real worker."""

from __future__ import annotations

import time

import pytest
from celery import current_app
from django.urls import reverse

from apps.chat.models import UnansweredQuestion
from ml.registry import services
from ml.registry.models import ScoringRun
from tests.chat.factories import UnansweredQuestionFactory
from tests.conftest import TINY_HYPERPARAMETERS

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for_run(run_id: int, worker, timeout_s: float = 180) -> ScoringRun:  # noqa: ANN001
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        run = ScoringRun.objects.get(id=run_id)
        if run.status in (ScoringRun.Status.DONE, ScoringRun.Status.FAILED):
            return run
        assert worker.poll() is None, worker.log_path.read_text()
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} not finished:\n{worker.log_path.read_text()[-3000:]}")


def test_promotion_rescores_open_questions_on_the_worker_and_admin_shows_it(
    admin_client, celery_worker_process, tiny_model_dir, tiny_dataset_csv
):
    open_questions = {
        UnansweredQuestionFactory(text="how do i get my refund").id: "refund",
        UnansweredQuestionFactory(text="my card not working").id: "card",
        UnansweredQuestionFactory(text="help with password").id: "password",
    }
    dismissed = UnansweredQuestionFactory(
        text="where is my refund", state=UnansweredQuestion.State.DISMISSED
    )
    queued = services.model_version_queue(
        task="chat.intent",
        base_model=str(tiny_model_dir),
        dataset_path=str(tiny_dataset_csv),
        hyperparameters=TINY_HYPERPARAMETERS,
        enqueue=False,
    )
    version = services.model_version_train(version_id=queued.id)

    services.model_version_promote(version=version)
    run = ScoringRun.objects.get(task="chat.intent")
    run = wait_for_run(run.id, celery_worker_process)

    assert run.status == ScoringRun.Status.DONE, run.error
    assert (run.total, run.done, run.version_id) == (3, 3, version.id) and run.celery_task_id
    for question in UnansweredQuestion.objects.filter(id__in=open_questions):
        assert question.predicted_intent == open_questions[question.id], question.text
        assert question.predicted_version == 1 and 0 < question.predicted_confidence <= 1
    dismissed.refresh_from_db()
    assert dismissed.predicted_intent == "" and dismissed.predicted_version is None

    page = admin_client.get(reverse("admin:chat_unansweredquestion_changelist"))
    assert "refund (" in page.content.decode() and ", v1)" in page.content.decode()
    runs = admin_client.get(reverse("admin:registry_scoringrun_changelist"))
    assert "3 / 3 (100%)" in runs.content.decode()

    # The same path on demand: one batch through the gpu queue, the chat's handler stores it.
    UnansweredQuestion.objects.filter(id=dismissed.id).update(predicted_intent="")
    answer = current_app.send_task("ml.score_batch", args=["chat.intent", [dismissed.id]])
    assert answer.get(timeout=120) == {"task": "chat.intent", "version": 1, "scored": 1}
    dismissed.refresh_from_db()
    assert dismissed.predicted_intent == "refund" and dismissed.predicted_version == 1

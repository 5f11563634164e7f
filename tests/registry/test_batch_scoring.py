"""Batch scoring hands the production version's answers to the app; re-scoring runs in chunks."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from ml.registry import scoring, services
from ml.registry.models import ModelVersion, ScoringRun
from ml.registry.plugins import (
    BatchScoringHandler,
    ScoredItem,
    batch_scoring_register,
    batch_scoring_unregister,
)
from ml.training import TrainConfig, read_examples_csv, train_text_model
from tests.conftest import TINY_HYPERPARAMETERS

pytestmark = pytest.mark.django_db

TASK = "demo.scored"
TEXTS = {
    11: "how do i get my refund",
    12: "my card not working",
    13: "help with password",
    14: "where is my refund",
    15: "i need a card now",
}


@pytest.fixture(scope="module")
def tiny_artifact(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_dataset_csv: Path
) -> Path:
    """A tiny classifier over refund / card / password, trained once for this module."""
    config = TrainConfig.from_dict(tiny_model_dir, {**TINY_HYPERPARAMETERS, "device": "cpu"})
    out = tmp_path_factory.mktemp("scored") / "model"
    return train_text_model(config, read_examples_csv(tiny_dataset_csv), out).artifact_dir


def promote_version(artifact: Path, number: int) -> ModelVersion:
    version = ModelVersion.objects.create(
        task=TASK,
        version=number,
        base_model="/models/tiny",
        status=ModelVersion.Status.READY,
        artifact_path=str(artifact),
    )
    return services.model_version_promote(version=version)


class Recorder:
    """The app side: stores the scored items and what the run's progress said at each chunk."""

    def __init__(self, fail: bool = False) -> None:
        self.chunks: list[list[ScoredItem]] = []
        self.done_seen: list[int] = []
        self.fail = fail

    def store(self, items: Sequence[ScoredItem]) -> None:
        if self.fail:
            raise RuntimeError("the app's table is locked")
        self.done_seen.append(ScoringRun.objects.filter(task=TASK).latest("id").done)
        self.chunks.append(list(items))


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorder = Recorder()
    batch_scoring_register(
        BatchScoringHandler(
            task=TASK,
            texts=lambda ids: {i: TEXTS[i] for i in ids if i in TEXTS},
            store=lambda items: recorder.store(items),
            recent_ids=lambda: [15, 14, 13, 12, 11, 99],  # 99: deleted meanwhile
            chunk_size=2,
        )
    )
    yield recorder
    batch_scoring_unregister(TASK)


def test_promotion_queues_a_run_that_scores_the_window_chunk_by_chunk(recorder, tiny_artifact):
    version = promote_version(tiny_artifact, 1)
    run = ScoringRun.objects.get(task=TASK)
    assert (run.status, run.version_id, run.total) == ("queued", version.id, 0)

    run = scoring.scoring_run_execute(run_id=run.id)

    assert (run.status, run.total, run.done, run.error) == ("done", 6, 6, "")
    assert run.started_at <= run.finished_at
    assert recorder.done_seen == [0, 2, 4]  # progress written after each chunk, before the next
    items = {item.item_id: item for chunk in recorder.chunks for item in chunk}
    assert sorted(items) == [11, 12, 13, 14, 15]
    assert {i: items[i].label for i in items} == {
        11: "refund",
        12: "card",
        13: "password",
        14: "refund",
        15: "card",
    }
    assert all(item.version_id == version.id and item.version == 1 for item in items.values())
    assert all(item.probabilities[0] == (item.label, item.confidence) for item in items.values())


def test_items_are_scored_by_the_version_in_production_now(recorder, tiny_artifact):
    promote_version(tiny_artifact, 1)
    v2 = promote_version(tiny_artifact, 2)
    result = scoring.items_score(task=TASK, item_ids=[11, 11, 12, 404])
    assert (result.version_id, result.version, result.scored, result.missing) == (v2.id, 2, 2, 1)
    assert [item.item_id for item in recorder.chunks[0]] == [11, 12]


def test_a_failing_run_records_the_error_and_reraises(recorder, tiny_artifact):
    promote_version(tiny_artifact, 1)
    recorder.fail = True
    run = ScoringRun.objects.get(task=TASK)
    with pytest.raises(RuntimeError, match="table is locked"):
        scoring.scoring_run_execute(run_id=run.id)
    run.refresh_from_db()
    assert run.status == "failed" and run.error == "RuntimeError: the app's table is locked"
    assert scoring.scoring_run_execute(run_id=run.id) is None  # a failed run is not redone


def test_a_task_nobody_scores_queues_no_run_and_refuses_batches(tiny_artifact):
    promote_version(tiny_artifact, 1)
    assert not ScoringRun.objects.exists()
    with pytest.raises(scoring.ScoringNotRegistered, match="batch_scoring_register"):
        scoring.items_score(task=TASK, item_ids=[11])

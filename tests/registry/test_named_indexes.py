"""Named vector indexes: an app's source of (id, text) kept embedded by the core."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ml.errors import NotFound
from ml.index import VectorIndex
from ml.registry import indexes
from ml.registry.serving import get_encoder

NAME = "test.products"


class Catalogue:
    """The app's data: what `source` reads (a dict standing in for the app's table)."""

    def __init__(self) -> None:
        self.rows = {
            1: "waterproof hiking boots",
            2: "running shoes for the road",
            3: "leather office shoes",
            4: "wool winter socks",
        }
        self.calls: list[list[int] | None] = []

    def source(self, ids):  # noqa: ANN001, ANN201
        self.calls.append(None if ids is None else list(ids))
        wanted = self.rows if ids is None else {i: self.rows[i] for i in ids if i in self.rows}
        yield from sorted(wanted.items())


@pytest.fixture
def catalogue(artifacts_dir: Path):  # noqa: ANN201
    data = Catalogue()
    indexes.index_register(indexes.NamedIndexSpec(name=NAME, source=data.source, batch_size=3))
    yield data
    indexes.index_unregister(name=NAME)


def _top(query: str, k: int = 4, **filters: object) -> list[int]:
    [vector] = get_encoder().encode([query])
    _, ids = indexes.index_search(name=NAME, vectors=vector, k=k, **filters)
    return [int(i) for i in ids[0]]


def _saved_ids() -> set[int]:
    return {int(i) for i in VectorIndex.load(indexes.index_path(name=NAME)).ids()}


def test_sync_embeds_what_the_source_yields_and_drops_what_it_no_longer_does(catalogue):
    result = indexes.index_sync(name=NAME, ids=[1, 2, 3, 4])
    assert (result.upserted, result.removed, result.rebuilt) == (4, 0, False)
    assert _top("boots for hiking in the rain")[0] == 1

    del catalogue.rows[2]
    catalogue.rows[3] = "a large red umbrella"  # a changed text is re-embedded
    result = indexes.index_sync(name=NAME, ids=[2, 3])

    assert (result.upserted, result.removed) == (1, 1)
    assert catalogue.calls[-1] == [2, 3]  # only the ids asked for were read
    assert _saved_ids() == {1, 3, 4}
    [query] = get_encoder().encode(["umbrella"])
    _, ids = VectorIndex.load(indexes.index_path(name=NAME)).search(query, 1)
    assert ids[0, 0] == 3  # the new text is what got embedded


def test_search_filters_still_return_k_results(catalogue):
    indexes.index_rebuild(name=NAME)

    best = _top("shoes", k=4)
    assert len(best) == 4 and -1 not in best
    without_best = _top("shoes", k=3, exclude_ids={best[0]})
    only = _top("shoes", k=3, allow_ids=[4, 1])

    assert without_best == best[1:4]
    assert sorted(only[:2]) == [1, 4] and only[2] == -1  # two allowed: padded past them


def test_a_rebuild_is_published_whole_readers_keep_the_old_version_until_then(catalogue):
    indexes.index_sync(name=NAME, ids=[1])
    path = indexes.index_path(name=NAME)
    seen_during_rebuild: list[tuple[int, int]] = []

    def progress(fraction: float) -> None:
        saved = VectorIndex.load(path)
        seen_during_rebuild.append((saved.version, len(saved)))

    count = indexes.index_rebuild(name=NAME, progress=progress)

    assert count == 4
    assert seen_during_rebuild == [(1, 1), (1, 1)]  # two batches of 3; the old version meanwhile
    assert VectorIndex.saved_meta(path)["version"] == 2 and _saved_ids() == {1, 2, 3, 4}


def test_ensure_current_builds_a_missing_index_then_leaves_a_current_one(catalogue):
    first = indexes.index_ensure_current(name=NAME)
    second = indexes.index_ensure_current(name=NAME)

    assert first.rebuilt is True and first.reason == "never built" and first.vectors == 4
    assert second.rebuilt is False and second.reason == "current"
    assert second.space == get_encoder().space


def test_ensure_current_rebuilds_an_index_of_another_encoder(catalogue):
    indexes.index_rebuild(name=NAME)
    meta_path = next(indexes.index_path(name=NAME).glob("v*/meta.json"))
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "space": "other-model-0123"}))
    assert indexes.index_status(name=NAME).problem.startswith("built by another encoder")

    result = indexes.index_ensure_current(name=NAME)

    assert result.rebuilt is True and result.previous_space == "other-model-0123"
    assert indexes.index_status(name=NAME).current


def test_ensure_current_with_an_empty_source_builds_nothing(catalogue):
    catalogue.rows.clear()

    result = indexes.index_ensure_current(name=NAME)

    assert result.rebuilt is False and result.reason == "no index and nothing to index"
    assert VectorIndex.saved_meta(indexes.index_path(name=NAME)) is None


def test_status_says_what_is_saved_and_whether_it_is_current(catalogue):
    before = indexes.index_status(name=NAME)
    indexes.index_rebuild(name=NAME)
    after = indexes.index_status(name=NAME)

    assert (before.version, before.vectors, before.current) == (None, 0, False)
    assert before.problem == "not built yet"
    assert (after.version, after.vectors, after.current) == (1, 4, True)
    assert after.space == after.encoder_space == get_encoder().space


def test_unknown_names_and_bad_specs_are_refused(catalogue):
    with pytest.raises(NotFound, match="no vector index named 'nope'"):
        indexes.index_search(name="nope", vectors=[0.0], k=1)
    with pytest.raises(ValueError, match="index name 'Bad Name'"):
        indexes.NamedIndexSpec(name="Bad Name", source=catalogue.source)
    with pytest.raises(ValueError, match="already registered"):
        indexes.index_register(indexes.NamedIndexSpec(name=NAME, source=lambda ids: []))


def test_index_tasks_are_routed_to_the_gpu_queue():
    from config.celery import app

    for task in ("ml.index_sync", "ml.index_rebuild", "ml.index_ensure_current"):
        assert app.amqp.router.route({}, task, (), {})["queue"].name == "gpu"


def test_status_names_an_unusable_encoder_dir_instead_of_failing(artifacts_dir, settings):
    settings.TEST_INDEX_MODEL_DIR = str(artifacts_dir / "no-such-model")
    spec = indexes.NamedIndexSpec(
        name="test.broken", source=lambda ids: [], model_dir_setting="TEST_INDEX_MODEL_DIR"
    )
    indexes.index_register(spec)
    try:
        status = indexes.index_status(name="test.broken")
    finally:
        indexes.index_unregister(name="test.broken")

    assert status.current is False and status.encoder_space is None
    assert "model dir is unusable" in status.problem and "no-such-model" in status.problem

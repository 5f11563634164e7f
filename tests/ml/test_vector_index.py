"""VectorIndex semantics (flat and HNSW), persistence and cross-process reloading."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ml.index import IndexConfig, ReloadingIndex, VectorIndex, read_current_version
from tests.python_process import run_python

DIM = 16
FLAT = IndexConfig(dim=DIM, use_gpu=False)
# A low threshold forces HNSW on small data; small ef keeps the graph cheap to build.
HNSW = IndexConfig(
    dim=DIM, approximate_threshold=50, hnsw_m=16, ef_construction=40, ef_search=64, use_gpu=False
)


def unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(params=["flat", "hnsw"])
def config(request: pytest.FixtureRequest) -> IndexConfig:
    return FLAT if request.param == "flat" else HNSW


def filled(config: IndexConfig, n: int = 200, seed: int = 0) -> tuple[VectorIndex, np.ndarray]:
    vecs = unit(np.random.default_rng(seed), n)
    index = VectorIndex(config)
    index.upsert(np.arange(n) * 10, vecs)
    return index, vecs


def test_upsert_then_search_finds_itself(config: IndexConfig) -> None:
    index, vecs = filled(config)
    assert index.kind == ("flat" if config is FLAT else "hnsw")
    assert len(index) == 200 and 30 in index and 31 not in index and "30" not in index
    np.testing.assert_array_equal(index.ids(), np.arange(200) * 10)
    scores, ids = index.search(vecs[:20], 5)
    assert scores.dtype == np.float32 and ids.dtype == np.int64 and ids.shape == (20, 5)
    np.testing.assert_array_equal(ids[:, 0], np.arange(20) * 10)
    np.testing.assert_allclose(scores[:, 0], 1.0, atol=1e-5)
    assert (np.diff(scores, axis=1) <= 1e-6).all(), "scores must be descending"


def test_scores_are_cosine_even_for_unnormalised_input(config: IndexConfig) -> None:
    index = VectorIndex(config)
    index.upsert([1, 2], np.array([[3.0] + [0.0] * (DIM - 1), [1.0, 1.0] + [0.0] * (DIM - 2)]))
    scores, ids = index.search(np.array([2.0] + [0.0] * (DIM - 1)), 2)  # 1-D query = one row
    assert ids.tolist() == [[1, 2]]
    np.testing.assert_allclose(scores[0], [1.0, np.sqrt(0.5)], atol=1e-6)


def test_upsert_replaces_vector(config: IndexConfig) -> None:
    index, vecs = filled(config)
    new = unit(np.random.default_rng(99), 1)
    index.upsert([50], new)
    assert len(index) == 200
    np.testing.assert_allclose(index.get_vectors([50]), new, atol=1e-6)
    scores, ids = index.search(new, 1)
    assert ids[0, 0] == 50 and scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    # The old vector no longer scores 1.0 for id 50: its score is now the new vector's.
    scores, ids = index.search(vecs[5], 200)
    row = dict(zip(ids[0].tolist(), scores[0].tolist(), strict=True))
    assert row[50] == pytest.approx(float(vecs[5] @ new[0]), abs=1e-5)
    assert list(ids[0]).count(50) == 1


def test_remove_counts_and_ignores_unknown(config: IndexConfig) -> None:
    index, vecs = filled(config)
    assert index.remove([0, 10, 10, 12345, -1]) == 2  # -1 (search padding) is just unknown
    assert index.remove([0]) == 0
    assert len(index) == 198 and 0 not in index and 10 not in index
    with pytest.raises(KeyError, match=r"\[0\]"):
        index.get_vectors([0])
    scores, ids = index.search(vecs[:2], 200)
    assert not np.isin(ids, [0, 10]).any()
    assert (ids[:, :198] >= 0).all()


def test_removed_ids_never_returned_under_churn(config: IndexConfig) -> None:
    rng = np.random.default_rng(1)
    index, vecs = filled(config, n=300)
    removed: set[int] = set()
    for step in range(6):
        victims = rng.choice(index.ids(), size=20, replace=False)
        index.remove(victims)
        removed.update(victims.tolist())
        revived = np.array(sorted(removed))[: 5 * step]  # some come back with new vectors
        if revived.size:
            index.upsert(revived, unit(rng, revived.size))
            removed.difference_update(revived.tolist())
        _, ids = index.search(vecs, 50)
        assert not np.isin(ids, list(removed)).any()
        _, ids = index.search(vecs[:3], len(index) + 10)
        live = set(index.ids().tolist())
        assert {int(i) for i in ids[0] if i >= 0} <= live
        assert (ids[:, len(index) :] == -1).all()


def test_short_results_are_padded(config: IndexConfig) -> None:
    index = VectorIndex(config)
    scores, ids = index.search(unit(np.random.default_rng(2), 2), 3)
    assert ids.tolist() == [[-1] * 3] * 2 and np.isneginf(scores).all()
    index.upsert([7], unit(np.random.default_rng(3), 1))
    scores, ids = index.search(unit(np.random.default_rng(4), 1), 3)
    assert ids.tolist() == [[7, -1, -1]]
    assert np.isfinite(scores[0, 0]) and np.isneginf(scores[0, 1:]).all()


@pytest.mark.parametrize(
    ("ids", "vectors", "message"),
    [
        ([1, 2], np.ones((2, DIM + 1)), "dim 17 but the index dim is 16"),
        ([1, 2], np.ones((3, DIM)), "2 ids but 3 vectors"),
        ([1, 1], np.ones((2, DIM)), r"duplicate ids .*\[1\]"),
        ([1], np.full((1, DIM), np.nan), "NaN or inf"),
        ([1], np.full((1, DIM), np.inf), "NaN or inf"),
        ([1], np.zeros((1, DIM)), "zero vector"),
        ([-1], np.ones((1, DIM)), ">= 0"),
        ([1.5], np.ones((1, DIM)), "must be integers"),
    ],
)
def test_upsert_validation(ids: list, vectors: np.ndarray, message: str) -> None:
    index = VectorIndex(FLAT)
    with pytest.raises(ValueError, match=message):
        index.upsert(ids, vectors)
    assert len(index) == 0


def test_search_validation() -> None:
    index, _ = filled(FLAT, n=5)
    with pytest.raises(ValueError, match="dim 3 but the index dim is 16"):
        index.search(np.ones((1, 3)), 1)
    with pytest.raises(ValueError, match="k=0"):
        index.search(np.ones(DIM), 0)


def test_switches_to_hnsw_at_threshold_and_back_on_rebuild() -> None:
    rng = np.random.default_rng(5)
    index = VectorIndex(HNSW)
    index.upsert(np.arange(49), unit(rng, 49))
    assert index.kind == "flat"
    index.upsert([49], unit(rng, 1))
    assert index.kind == "hnsw"
    index.remove(np.arange(30))
    assert len(index) == 20 and index.tombstones == 0  # >20% dead triggered a rebuild
    assert index.kind == "flat"


def test_hnsw_rebuilds_once_tombstones_pass_a_fifth() -> None:
    index, vecs = filled(HNSW, n=100)
    index.remove(np.arange(20) * 10)
    assert index.kind == "hnsw" and index.tombstones == 20
    index.upsert([500], vecs[:1])  # replacing kills id 500's old label: 21 of 101 > 20%
    assert index.tombstones == 0 and len(index) == 80 and index.kind == "hnsw"
    _, ids = index.search(vecs[0], 1)
    assert ids[0, 0] == 500


def test_hnsw_recall_against_exact() -> None:
    rng = np.random.default_rng(6)
    data, queries = unit(rng, 3000, 32), unit(rng, 100, 32)
    exact, approx = (
        VectorIndex(IndexConfig(dim=32, use_gpu=False)),
        VectorIndex(IndexConfig(dim=32, approximate_threshold=100, use_gpu=False)),
    )
    for index in (exact, approx):
        index.upsert(np.arange(3000), data)
    assert (exact.kind, approx.kind) == ("flat", "hnsw")
    approx.remove(np.arange(0, 3000, 7))  # recall must hold with tombstones in the graph too
    exact.remove(np.arange(0, 3000, 7))
    assert approx.tombstones > 0
    _, truth = exact.search(queries, 10)
    _, found = approx.search(queries, 10)
    recall = np.mean([len(set(t) & set(f)) / 10 for t, f in zip(truth, found, strict=True)])
    assert recall >= 0.9, recall


def test_save_load_roundtrip(tmp_path: Path, config: IndexConfig) -> None:
    index, vecs = filled(config)
    index.remove([0, 10, 20])
    index.upsert([30], unit(np.random.default_rng(7), 1))
    assert index.dirty
    assert index.save(tmp_path / "idx") == 1 and index.version == 1
    assert not index.dirty
    assert index.remove([12345]) == 0 and not index.dirty
    loaded = VectorIndex.load(tmp_path / "idx", config)
    assert loaded.version == 1 and not loaded.dirty
    assert loaded.kind == index.kind and len(loaded) == 197
    assert loaded.tombstones == index.tombstones
    np.testing.assert_array_equal(loaded.ids(), index.ids())
    np.testing.assert_array_equal(loaded.get_vectors([30, 40]), index.get_vectors([30, 40]))
    for a, b in zip(index.search(vecs, 5), loaded.search(vecs, 5), strict=True):
        np.testing.assert_array_equal(a, b)
    meta = json.loads((tmp_path / "idx" / "v1" / "meta.json").read_text())
    assert meta["dim"] == DIM and meta["count"] == 197 and meta["version"] == 1
    assert meta["kind"] == index.kind and "created" in meta
    assert (tmp_path / "idx" / "v1" / "index.faiss").exists() == (index.kind == "hnsw")
    # The loaded copy is fully mutable.
    loaded.remove([40])
    assert 40 not in loaded and 40 in index and loaded.dirty


def test_load_checks_dim_and_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="CURRENT"):
        VectorIndex.load(tmp_path)
    filled(FLAT, n=3)[0].save(tmp_path)
    with pytest.raises(ValueError, match="dim 16 .* IndexConfig.dim=8"):
        VectorIndex.load(tmp_path, IndexConfig(dim=8))
    assert VectorIndex.load(tmp_path).config.dim == DIM


def test_current_version_increments_and_old_versions_are_pruned(tmp_path: Path) -> None:
    assert read_current_version(tmp_path) is None
    a, _ = filled(FLAT, n=5)
    b, _ = filled(FLAT, n=7, seed=1)
    assert [a.save(tmp_path), b.save(tmp_path), a.save(tmp_path)] == [1, 2, 3]
    assert read_current_version(tmp_path) == 3 == a.version
    assert (tmp_path / "CURRENT").read_text().strip() == "3"
    assert sorted(p.name for p in tmp_path.glob("v*")) == ["v2", "v3"]
    assert len(VectorIndex.load(tmp_path)) == 5


def test_torn_temp_dir_and_orphan_version_are_ignored(tmp_path: Path) -> None:
    index, vecs = filled(FLAT, n=5)
    index.save(tmp_path)
    torn = tmp_path / ".tmp-v2-crashed"
    torn.mkdir()
    (torn / "ids.npy").write_bytes(b"\x93NUMPY garbage")
    loaded = VectorIndex.load(tmp_path)
    assert loaded.version == 1 and len(loaded) == 5
    # A writer that died after its rename but before updating CURRENT left v2 behind.
    (tmp_path / "v2").mkdir()
    assert read_current_version(tmp_path) == 1
    assert index.save(tmp_path) == 3
    assert not torn.exists()
    assert VectorIndex.load(tmp_path).version == 3


def test_versions_keep_counting_across_processes(tmp_path: Path) -> None:
    filled(FLAT, n=4)[0].save(tmp_path)
    script = textwrap.dedent(
        f"""
        import numpy as np
        from ml.index import IndexConfig, VectorIndex
        index = VectorIndex(IndexConfig(dim={DIM}, use_gpu=False))
        index.upsert([1, 2, 3], np.eye(3, {DIM}, dtype=np.float32))
        print(index.save({str(tmp_path)!r}))
        """
    )
    out = run_python(script, timeout=60)
    assert out.stdout.strip() == "2"
    assert read_current_version(tmp_path) == 2
    assert len(VectorIndex.load(tmp_path)) == 3


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_reloading_index_follows_saves_after_interval(tmp_path: Path) -> None:
    clock = FakeClock()
    path = tmp_path / "idx"
    reader = ReloadingIndex(path, FLAT, check_interval_s=5.0, clock=clock)
    empty = reader.get()
    assert len(empty) == 0 and empty.dim == DIM and empty.version == 0

    writer, vecs = filled(FLAT, n=10)  # stands in for the worker process
    writer.save(path)
    clock.now = 4.0
    assert reader.get() is empty, "must not re-read CURRENT before the interval"
    clock.now = 5.0
    first = reader.get()
    assert first.version == 1 and len(first) == 10
    assert reader.get() is first

    writer.remove([0])
    writer.save(path)
    clock.now = 10.0
    second = reader.get()
    assert second.version == 2 and 0 not in second
    assert 0 in first and first.search(vecs[0], 1)[1][0, 0] == 0, "old snapshot keeps working"


def test_reloading_index_keeps_serving_when_a_version_is_corrupt(tmp_path: Path) -> None:
    clock = FakeClock()
    writer, _ = filled(FLAT, n=10)
    writer.save(tmp_path)
    reader = ReloadingIndex(tmp_path, FLAT, check_interval_s=1.0, clock=clock)
    assert reader.get().version == 1
    writer.save(tmp_path)
    (tmp_path / "v2" / "vectors.npy").write_bytes(b"broken")
    clock.now = 2.0
    assert reader.get().version == 1 and len(reader.get()) == 10

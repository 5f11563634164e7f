"""Filtered search: allow/exclude id sets applied inside FAISS, k results after filtering."""

from __future__ import annotations

import numpy as np
import pytest

from ml.index import IndexConfig, VectorIndex
from ml.index.filters import IdFilter, exact_top_k

FLAT = IndexConfig(dim=2, use_gpu=False)
# threshold 2: five vectors already make an HNSW graph
HNSW = IndexConfig(dim=2, approximate_threshold=2, hnsw_m=4, ef_search=16, use_gpu=False)


def _angles(degrees: list[float]) -> np.ndarray:
    radians = np.deg2rad(np.asarray(degrees, dtype=np.float64))
    return np.stack([np.cos(radians), np.sin(radians)], axis=1).astype(np.float32)


# Five ids on the unit circle at 0, 10, 20, 30, 40 degrees: from a query at 0 degrees the
# ranking is 1, 2, 3, 4, 5 and the scores are cos(0), cos(10), ... (checkable by hand).
IDS = [1, 2, 3, 4, 5]
QUERY = _angles([0])


@pytest.fixture(params=["flat", "hnsw"])
def index(request: pytest.FixtureRequest) -> VectorIndex:
    built = VectorIndex(FLAT if request.param == "flat" else HNSW)
    built.upsert(IDS, _angles([0, 10, 20, 30, 40]))
    assert built.kind == request.param
    return built


def test_exclusions_are_skipped_and_k_hits_still_come_back(index: VectorIndex) -> None:
    scores, ids = index.search(QUERY, 2, exclude_ids={1, 2})

    assert ids.tolist() == [[3, 4]]
    np.testing.assert_allclose(scores[0], np.cos(np.deg2rad([20, 30])), atol=1e-5)


def test_an_allow_list_returns_only_its_ids_best_first(index: VectorIndex) -> None:
    _, ids = index.search(QUERY, 2, allow_ids=[5, 3, 4])

    assert ids.tolist() == [[3, 4]]


def test_allow_and_exclude_together_take_the_difference(index: VectorIndex) -> None:
    _, ids = index.search(QUERY, 3, allow_ids=np.array([2, 3, 5]), exclude_ids=[3])

    assert ids.tolist() == [[2, 5, -1]]


def test_k_beyond_the_eligible_ids_pads_with_minus_one(index: VectorIndex) -> None:
    scores, ids = index.search(QUERY, 4, allow_ids=[4, 99])  # 99 is not in the index

    assert ids.tolist() == [[4, -1, -1, -1]]
    assert np.isfinite(scores[0, 0]) and np.isneginf(scores[0, 1:]).all()


@pytest.mark.parametrize(
    "filters",
    [{"allow_ids": set()}, {"exclude_ids": IDS}, {"allow_ids": [1, 2], "exclude_ids": [1, 2]}],
    ids=["empty allow set", "everything excluded", "allowed all excluded"],
)
def test_filters_leaving_nothing_return_only_padding(index: VectorIndex, filters: dict) -> None:
    scores, ids = index.search(np.concatenate([QUERY, QUERY]), 3, **filters)

    assert ids.tolist() == [[-1, -1, -1]] * 2 and np.isneginf(scores).all()


def test_unknown_and_negative_ids_in_filters_change_nothing(index: VectorIndex) -> None:
    _, plain = index.search(QUERY, 3)
    _, filtered = index.search(QUERY, 3, exclude_ids=[-1, 1000])

    assert filtered.tolist() == plain.tolist() == [[1, 2, 3]]


def test_a_float_id_in_a_filter_is_refused(index: VectorIndex) -> None:
    with pytest.raises(ValueError, match="exclude_ids must be integers"):
        index.search(QUERY, 2, exclude_ids=[1.5])


def test_hnsw_filters_skip_tombstones_too() -> None:
    index = VectorIndex(HNSW)
    index.upsert(IDS, _angles([0, 10, 20, 30, 40]))
    index.upsert([6, 7, 8, 9, 10, 11], _angles([170, 175, 180, 185, 190, 195]))
    index.remove([2])  # a tombstone below the rebuild ratio: the graph keeps its label
    assert index.kind == "hnsw" and index.tombstones == 1

    _, ids = index.search(QUERY, 3, exclude_ids=[1])
    _, allowed = index.search(QUERY, 3, allow_ids=[2, 3])

    assert ids.tolist() == [[3, 4, 5]]
    assert allowed.tolist() == [[3, -1, -1]]


def test_a_large_hnsw_index_returns_k_allowed_hits_from_far_away() -> None:
    """An allow-list of ids far from the query still yields k hits (no over-fetch by hand)."""
    rng = np.random.default_rng(0)
    config = IndexConfig(dim=8, approximate_threshold=100, hnsw_m=8, ef_search=16, use_gpu=False)
    index = VectorIndex(config)
    vectors = rng.standard_normal((2000, 8)).astype(np.float32)
    index.upsert(np.arange(2000), vectors)
    query = vectors[0]
    far = np.argsort(vectors @ query / np.linalg.norm(vectors, axis=1))[:10]  # least similar

    _, ids = index.search(query, 5, allow_ids=far)

    assert index.kind == "hnsw"
    assert set(ids[0].tolist()) <= set(far.tolist()) and (ids[0] >= 0).all()


def test_exact_top_k_ranks_and_cuts_like_the_flat_index() -> None:
    """The GPU path's filtered search (exact over eligible rows) agrees with FAISS flat."""
    vectors = _angles([0, 10, 20, 30, 40])
    ids = np.array(IDS) * 10
    flt = IdFilter.build(None, [20])
    rows = flt.mask(ids)

    scores, got = exact_top_k(QUERY, vectors[rows], ids[rows], 3)
    index = VectorIndex(FLAT)
    index.upsert(ids, vectors)
    want_scores, want = index.search(QUERY, 3, exclude_ids=[20])

    assert got.tolist() == want.tolist() == [[10, 30, 40]]
    np.testing.assert_allclose(scores, want_scores, atol=1e-6)
    assert exact_top_k(QUERY, vectors[:0], ids[:0], 3)[1].shape == (1, 0)

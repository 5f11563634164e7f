"""What admin shows for an index, read from its saved metadata without loading a model."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ml.embeddings import encoder_space
from ml.index import VectorIndex
from ml.registry.indexes.specs import _model_dir, index_path, index_spec


@dataclass(frozen=True)
class IndexStatus:
    """What admin shows: the saved version, its size and encoder, and what is wrong, if any."""

    name: str
    version: int | None
    vectors: int
    space: str | None
    encoder_space: str | None
    problem: str | None

    @property
    def current(self) -> bool:
        return self.problem is None


def index_status(*, name: str) -> IndexStatus:
    """What the saved index holds and whether the configured encoder made it (no model load)."""
    spec = index_spec(name=name)
    try:
        wanted: str | None = _configured_encoder_space(_model_dir(spec))
    except (OSError, ValueError) as exc:
        wanted, encoder_problem = None, f"the encoder's model dir is unusable: {exc}"
    else:
        encoder_problem = None
    empty = {"name": name, "version": None, "vectors": 0, "space": None, "encoder_space": wanted}
    try:
        meta = VectorIndex.saved_meta(index_path(name=name))
    except (OSError, ValueError) as exc:  # a version pruned under us, a damaged file
        return IndexStatus(**empty, problem=f"cannot read the saved index: {exc}")
    if meta is None:
        return IndexStatus(**empty, problem=encoder_problem or "not built yet")
    space = meta.get("space")
    problem = encoder_problem
    if problem is None and space is None:
        problem = "saved before indexes recorded their encoder; a rebuild makes sure"
    elif problem is None and space != wanted:
        problem = f"built by another encoder ({space}); it cannot be searched until rebuilt"
    return IndexStatus(
        name=name,
        version=int(meta["version"]),
        vectors=int(meta["count"]),
        space=space,
        encoder_space=wanted,
        problem=problem,
    )


@functools.cache
def _configured_encoder_space(model_dir: str) -> str:
    """Once per process: a process encodes with the model it started with, whatever changes
    on disk later (a swap takes a restart)."""
    return encoder_space(model_dir)

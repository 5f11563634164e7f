"""Index declarations: the spec an app registers, the registry of them, and their encoder.

The per-process reader cache lives here too, so that unregistering an index forgets its
readers (reading.py fills it).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from ml.embeddings import Encoder
from ml.errors import NotFound
from ml.index import IndexConfig, ReloadingIndex

IndexSource = Callable[[Sequence[int] | None], Iterable[tuple[int, str]]]
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,99}$")


@dataclass(frozen=True)
class NamedIndexSpec:
    """What an app declares for one index.

    `source(ids)` yields `(id, text)` for those of `ids` that belong in the index (None: every
    one that does); an id asked for and not yielded is removed. Ids are int64 >= 0.
    `model_dir_setting` names the setting holding the encoder's model dir.
    """

    name: str
    source: IndexSource
    approximate_threshold: int = 20_000
    model_dir_setting: str = "ML_BASE_MODEL"
    batch_size: int = 512
    reload_interval_s: float = 0.5

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(
                f"index name {self.name!r}: use lowercase letters, digits, '_', '.', '-' "
                "(it names a folder under ML_ARTIFACTS_DIR/indexes)"
            )
        if self.batch_size < 1 or self.approximate_threshold < 1:
            raise ValueError(f"index {self.name}: batch_size and approximate_threshold >= 1")


class UnknownIndex(NotFound):
    code = "unknown_index"


_specs: dict[str, NamedIndexSpec] = {}
_readers: dict[tuple[str, Path], ReloadingIndex] = {}
_lock = threading.Lock()


def index_register(spec: NamedIndexSpec) -> None:
    """Declare an index (idempotent for the same spec; a second, different spec is refused)."""
    existing = _specs.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"index {spec.name!r} is already registered with another spec")
    _specs[spec.name] = spec


def index_unregister(*, name: str) -> None:
    """Forget an index (tests, an app switched off); its files stay where they are."""
    _specs.pop(name, None)
    with _lock:
        for key in [key for key in _readers if key[0] == name]:
            del _readers[key]


def index_spec(*, name: str) -> NamedIndexSpec:
    try:
        return _specs[name]
    except KeyError:
        raise UnknownIndex(
            f"no vector index named {name!r}; registered: {sorted(_specs) or 'none'}"
        ) from None


def index_names() -> list[str]:
    return sorted(_specs)


def index_path(*, name: str) -> Path:
    index_spec(name=name)
    return Path(settings.ML_ARTIFACTS_DIR) / "indexes" / name


def _model_dir(spec: NamedIndexSpec) -> str:
    return str(getattr(settings, spec.model_dir_setting))


def _encoder(spec: NamedIndexSpec) -> Encoder:
    from ml.registry.serving import get_encoder

    model_dir = _model_dir(spec)
    if model_dir == str(settings.ML_BASE_MODEL):
        return get_encoder()
    return get_encoder(model_dir=Path(model_dir))  # one encoder per model dir and process


def index_config(*, name: str) -> IndexConfig:
    """Shape and embedding space of this process's encoder for the index (loads it if need be)."""
    spec = index_spec(name=name)
    encoder = _encoder(spec)
    return IndexConfig(
        dim=encoder.dim, approximate_threshold=spec.approximate_threshold, space=encoder.space
    )

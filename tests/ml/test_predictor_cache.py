"""PredictorCache against artifacts on disk and a mutable 'registry' of production versions.

The check interval runs on a fake clock the tests step by hand, and concurrency is checked by
the order of events, so nothing here depends on how fast this machine is.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from ml.serving import ModelNotAvailable, PredictorCache


@dataclass(frozen=True)
class LoadedModel:
    version: str
    weights: str


class Registry:
    """Production pointer per task (what the Django registry answers), plus artifact files."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.production: dict[str, str] = {}
        self.resolve_calls = 0

    def publish(self, task: str, version: str, *, weights: str | None = None) -> None:
        path = self.root / task / version
        path.mkdir(parents=True, exist_ok=True)
        (path / "weights.txt").write_text(weights or f"{task}:{version}")
        self.production[task] = version

    def resolve(self, task: str) -> tuple[str, Path] | None:
        self.resolve_calls += 1
        version = self.production.get(task)
        return None if version is None else (version, self.root / task / version)


class Loader:
    def __init__(self, delay_s: float = 0.0) -> None:
        self.delay_s = delay_s
        self.loaded: list[Path] = []
        self._lock = threading.Lock()

    def __call__(self, path: Path) -> LoadedModel:
        with self._lock:
            self.loaded.append(path)
        time.sleep(self.delay_s)
        return LoadedModel(version=path.name, weights=(path / "weights.txt").read_text())


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def registry(tmp_path: Path) -> Registry:
    return Registry(tmp_path)


def test_loads_once_and_serves_from_memory(registry: Registry) -> None:
    registry.publish("intent", "v1")
    loader = Loader()
    cache = PredictorCache(loader=loader, resolver=registry.resolve, check_interval_s=60)
    assert cache.current_version("intent") is None

    first = cache.get("intent")
    assert first == LoadedModel("v1", "intent:v1")
    assert all(cache.get("intent") is first for _ in range(50))
    assert len(loader.loaded) == 1
    assert registry.resolve_calls == 1
    assert cache.current_version("intent") == "v1"


def test_new_production_version_is_picked_up_only_after_the_interval(registry: Registry) -> None:
    registry.publish("intent", "v1")
    loader = Loader()
    clock = FakeClock()
    cache = PredictorCache(
        loader=loader, resolver=registry.resolve, check_interval_s=2.0, clock=clock
    )
    assert cache.get("intent").version == "v1"

    registry.publish("intent", "v2")
    clock.now += 1.9
    assert cache.get("intent").version == "v1"  # within the interval: not even asked
    assert registry.resolve_calls == 1

    clock.now += 0.1
    assert cache.get("intent") == LoadedModel("v2", "intent:v2")
    assert cache.current_version("intent") == "v2"
    assert [p.name for p in loader.loaded] == ["v1", "v2"]

    clock.now += 1.0
    assert cache.get("intent").version == "v2"  # the interval restarts at the last check
    assert registry.resolve_calls == 2
    clock.now += 1.0
    assert cache.get("intent").version == "v2"  # re-asked, same version: no reload
    assert registry.resolve_calls == 3
    assert len(loader.loaded) == 2


def test_invalidate_forces_a_recheck_for_one_or_all_tasks(registry: Registry) -> None:
    registry.publish("intent", "v1")
    registry.publish("sentiment", "s1")
    cache = PredictorCache(loader=Loader(), resolver=registry.resolve, check_interval_s=60)
    cache.get("intent")
    cache.get("sentiment")

    registry.publish("intent", "v2")
    registry.publish("sentiment", "s2")
    cache.invalidate("intent")
    assert cache.get("intent").version == "v2"
    assert cache.get("sentiment").version == "s1"

    cache.invalidate()
    assert cache.get("sentiment").version == "s2"


def test_concurrent_first_gets_load_once(registry: Registry) -> None:
    registry.publish("intent", "v1")
    loader = Loader(delay_s=0.2)
    cache = PredictorCache(loader=loader, resolver=registry.resolve, check_interval_s=60)
    n = 16
    barrier = threading.Barrier(n)
    got: list[LoadedModel] = []

    def worker() -> None:
        barrier.wait()
        got.append(cache.get("intent"))

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(got) == n
    assert len(loader.loaded) == 1
    assert all(m is got[0] for m in got)


def test_a_slow_load_does_not_block_other_tasks(registry: Registry) -> None:
    registry.publish("slow", "v1")
    registry.publish("fast", "v1")
    gate = threading.Event()
    entered = threading.Event()
    events: list[str] = []

    def loader(path: Path) -> LoadedModel:
        if path.parent.name == "slow":
            entered.set()
            # Held until the fast task was served; had `fast` waited on this load, the gate
            # would time out and the events would come in the other order.
            events.append("slow released" if gate.wait(timeout=30) else "slow timed out")
        return LoadedModel(path.name, (path / "weights.txt").read_text())

    cache = PredictorCache(loader=loader, resolver=registry.resolve, check_interval_s=60)
    slow = threading.Thread(target=cache.get, args=("slow",))
    slow.start()
    assert entered.wait(timeout=30)
    assert cache.get("fast").weights == "fast:v1"
    events.append("fast served")
    assert cache.current_version("slow") is None  # still loading
    gate.set()
    slow.join(timeout=60)
    assert events == ["fast served", "slow released"]
    assert cache.current_version("slow") == "v1"


def test_loader_failure_keeps_serving_the_previous_version(
    registry: Registry, caplog: pytest.LogCaptureFixture
) -> None:
    registry.publish("intent", "v1")
    loader = Loader()
    cache = PredictorCache(loader=loader, resolver=registry.resolve, check_interval_s=60)
    v1 = cache.get("intent")

    registry.production["intent"] = "v2"  # promoted, but the artifact never made it to disk
    cache.invalidate("intent")
    with caplog.at_level(logging.ERROR, logger="ml.serving.cache"):
        assert cache.get("intent") is v1
    assert cache.current_version("intent") == "v1"
    assert any("still serving v1" in r.getMessage() for r in caplog.records)

    registry.publish("intent", "v2")  # artifact arrives
    cache.invalidate("intent")
    assert cache.get("intent").version == "v2"


def test_loader_failure_with_nothing_loaded_raises(registry: Registry) -> None:
    registry.production["intent"] = "v1"  # no artifact on disk
    cache = PredictorCache(loader=Loader(), resolver=registry.resolve, check_interval_s=60)
    with pytest.raises(FileNotFoundError):
        cache.get("intent")
    assert cache.current_version("intent") is None

    registry.publish("intent", "v1")
    assert cache.get("intent").version == "v1"  # a failed first load is retried at once


def test_no_production_version_raises_model_not_available(registry: Registry) -> None:
    cache = PredictorCache(loader=Loader(), resolver=registry.resolve, check_interval_s=60)
    with pytest.raises(ModelNotAvailable, match="'intent'.*promote") as info:
        cache.get("intent")
    assert info.value.task == "intent"

    registry.publish("intent", "v1")
    cache.invalidate("intent")
    assert cache.get("intent").version == "v1"

    del registry.production["intent"]  # demoted with no replacement
    cache.invalidate("intent")
    with pytest.raises(ModelNotAvailable):
        cache.get("intent")
    assert cache.current_version("intent") is None

"""Serving processes freeze what they keep for good, so full collections stop walking it."""

from __future__ import annotations

import gc
import weakref

from ml.serving import freeze_long_lived
from tests.python_process import run_python


class Node:
    """A reference cycle: only the cyclic collector can free it."""

    def __init__(self) -> None:
        self.me = self


def tracked(obj: object) -> bool:
    """Is `obj` in a collected generation (not the permanent one)?"""
    return any(o is obj for o in gc.get_objects())


def test_objects_alive_at_the_call_leave_the_collected_generations():
    kept = Node()
    assert tracked(kept)
    frozen = freeze_long_lived("test")
    assert frozen == gc.get_freeze_count() > 0
    assert not tracked(kept)
    later = Node()
    assert tracked(later)  # what comes after is collected as usual


def test_a_frozen_cycle_dropped_later_is_freed_by_the_next_freeze():
    replaced = Node()  # say, the model a promotion replaces
    alive = weakref.ref(replaced)
    freeze_long_lived("test: first model")
    del replaced
    gc.collect()
    assert alive() is not None  # frozen: an ordinary collection does not free it
    freeze_long_lived("test: next model")
    assert alive() is None


def test_the_asgi_application_freezes_its_startup_objects():
    result = run_python("import gc, config.asgi; print(gc.get_freeze_count())")
    # Django, Channels and the project's modules: hundreds of thousands of objects.
    assert int(result.stdout.strip().splitlines()[-1]) > 100_000

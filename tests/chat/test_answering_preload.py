"""A starting ASGI server loads the answering models in the background (ML_PRELOAD)."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.chat import services
from tests.python_process import run_python

# Import the ASGI application as a server does, then wait for the preload thread.
PROBE = """
import config.asgi
import ml.registry.serving as serving
from ml.serving import warmup
warmup._current and warmup._current.join(300)
print("encoder", serving._encoder is not None, "batchers", sorted(serving._batchers),
      "warm-up", warmup.warm_up_status()["state"])
"""


def run_probe(preload: str, tmp_path: Path) -> str:
    result = run_python(
        PROBE, timeout=300, ML_PRELOAD=preload, ML_ARTIFACTS_DIR=str(tmp_path / "artifacts")
    )
    return result.stdout.strip().splitlines()[-1]


def test_the_server_preloads_the_encoder_at_start(tmp_path: Path) -> None:
    assert run_probe("1", tmp_path) == "encoder True batchers ['encoder'] warm-up done"


def test_preload_can_be_turned_off(tmp_path: Path) -> None:
    assert run_probe("0", tmp_path) == "encoder False batchers [] warm-up off"


@pytest.mark.django_db(transaction=True)
def test_warm_up_answers_from_the_index_it_loaded(ws_kb) -> None:
    warmed = services.answering_warm_up()
    assert warmed["index_vectors"] > 0  # the ws_kb entries' phrasings
    reply = services.answer_question("When will my new card arrive?")
    assert reply.decision.action == "answer"

"""A starting ASGI server runs the chat's web warm-up in the background (ML_PRELOAD)."""

from __future__ import annotations

from pathlib import Path

import pytest

from apps.chat import services
from tests.conftest import database_url_for_subprocess
from tests.python_process import run_python

# Import the ASGI application as a server does, then wait for the preload thread.
PROBE = """
import config.asgi
import ml.registry.serving as serving
from ml.serving import warmup
warmup.warm_ups_join(300)
print("encoder", bool(serving.encoders_loaded()), "batchers", serving.batcher_names(),
      "warm-up", warmup.warm_up_status()["state"], "apps", sorted(warmup.warm_up_statuses()))
"""


def run_probe(preload: str, tmp_path: Path) -> str:
    # The test database: the warm-up asks the registry for the chat's production intent model.
    result = run_python(
        PROBE,
        timeout=300,
        ML_PRELOAD=preload,
        ML_ARTIFACTS_DIR=str(tmp_path / "artifacts"),
        DATABASE_URL=database_url_for_subprocess(),
    )
    return result.stdout.strip().splitlines()[-1]


@pytest.mark.django_db(transaction=True)
def test_the_server_preloads_the_encoder_at_start(tmp_path: Path) -> None:
    assert run_probe("1", tmp_path) == (
        "encoder True batchers ['encoder'] warm-up done apps ['chat', 'recommender']"
    )


@pytest.mark.django_db(transaction=True)
def test_preload_can_be_turned_off(tmp_path: Path) -> None:
    assert run_probe("0", tmp_path) == "encoder False batchers [] warm-up off apps []"


@pytest.mark.django_db(transaction=True)
def test_warm_up_answers_from_the_index_it_loaded(ws_kb) -> None:
    warmed = services.answering_warm_up()
    assert warmed["index_vectors"] > 0  # the ws_kb entries' phrasings
    reply = services.answer_question("When will my new card arrive?")
    assert reply.decision.action == "answer"

"""A process warm-up runs in the background, reports its state and retries until it succeeds."""

from __future__ import annotations

import threading

import pytest

from ml.serving import warmup
from ml.serving.warmup import DONE, OFF, RETRYING, RUNNING, WarmUp


def test_a_warm_up_reports_running_then_done_with_its_result() -> None:
    release = threading.Event()
    job = WarmUp(lambda: release.wait(10) and {"index_vectors": 3}, name="test-warm-up")
    assert job.status()["state"] == OFF
    job.start()
    assert job.status()["state"] == RUNNING
    assert job.join(0.05) is False
    release.set()
    assert job.join(10) is True
    status = job.status()
    assert status["state"] == DONE and status["attempts"] == 1
    assert status["result"] == {"index_vectors": 3} and status["seconds"] >= 0


def test_a_failing_warm_up_is_retried_and_says_why_meanwhile() -> None:
    calls: list[int] = []
    failing = threading.Event()
    failing.set()

    def load() -> str:
        calls.append(1)
        if failing.is_set():
            raise ConnectionError("database is starting up")
        return "loaded"

    job = WarmUp(load, first_retry_s=0.01, max_retry_s=0.02).start()
    while len(calls) < 3:
        threading.Event().wait(0.01)
    status = job.status()
    assert status["state"] == RETRYING
    assert status["error"] == "ConnectionError: database is starting up"
    failing.clear()
    assert job.join(10) is True
    assert job.status()["result"] == "loaded" and job.status()["error"] == ""
    assert job.status()["attempts"] == len(calls) >= 3


def test_the_process_warm_up_of_a_name_starts_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(warmup, "process_warm_ups", warmup.WarmUps())
    assert warmup.warm_up_status()["state"] == OFF
    calls: list[int] = []
    first = warmup.start_warm_up(lambda: calls.append(1), name="test-once")
    second = warmup.start_warm_up(lambda: calls.append(2), name="test-once")
    assert first is second and first.join(10)
    assert calls == [1] and warmup.warm_up_status()["state"] == DONE


def test_warm_ups_of_several_apps_all_run_and_are_folded(monkeypatch: pytest.MonkeyPatch) -> None:
    """The second app's warm-up is not dropped; the process is done only when both are."""
    monkeypatch.setattr(warmup, "process_warm_ups", warmup.WarmUps())
    release = threading.Event()
    warmup.start_warm_up(lambda: "chat loaded", name="chat")
    warmup.start_warm_up(lambda: release.wait(10) and "shop loaded", name="shop")
    assert warmup.process_warm_ups.statuses()["chat"]["state"] in (RUNNING, DONE)
    assert warmup.warm_up_status("shop")["state"] == RUNNING
    assert warmup.warm_up_status()["state"] == RUNNING
    assert warmup.warm_ups_join(0.05) is False
    release.set()
    assert warmup.warm_ups_join(10) is True
    folded = warmup.warm_up_status()
    assert folded["state"] == DONE and folded["attempts"] == 2
    assert folded["result"] == {"chat": "chat loaded", "shop": "shop loaded"}
    assert set(warmup.warm_up_statuses()) == {"chat", "shop"}

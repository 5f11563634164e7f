"""Sliding-window rate limits, on Redis (one pipeline per hit) and on the Django cache."""

from __future__ import annotations

import uuid

import pytest

from apps.chat import ratelimit

# The Redis case carries the project's `redis` marker: without REDIS_URL it is reported as
# skipped, and under REQUIRE_SERVICES=1 (CI) that is an error (tests/conftest.py).
BACKENDS = [pytest.param("redis", marks=pytest.mark.redis), "cache"]


@pytest.fixture(params=BACKENDS)
def backend(request, settings):
    if request.param == "cache":
        settings.REDIS_URL = ""
        settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    return request.param


def rule(limit: int, name: str = "") -> ratelimit.Rule:
    return ratelimit.Rule(key=f"{name or 'test'}:{uuid.uuid4()}", limit=limit, window_s=60)


def test_counters_follow_the_settings_backend(backend):
    counters = ratelimit._counters()
    expected = ratelimit._RedisCounters if backend == "redis" else ratelimit._CacheCounters
    assert isinstance(counters, expected)


def test_the_limit_refuses_the_next_hit_and_counts_nothing_for_it(backend):
    limited = rule(3)
    start = 120.0  # the very start of a window: the previous window weighs in fully
    assert all(ratelimit.hit([limited], now=start + i).allowed for i in range(3))
    refused = ratelimit.hit([limited], now=start + 3)
    assert not refused.allowed and refused.rule == limited
    assert 1 <= refused.retry_after_s <= 60
    # Refusals are not counted: once the window slides on, exactly three hits weigh in.
    [(current, previous)] = ratelimit._counters().take(ratelimit._windows([limited], start + 4))
    assert (current, previous) == (4, 0)  # the three allowed hits + this probe


def test_a_refusal_by_one_rule_gives_back_the_other_rules_hit(backend):
    roomy, tight = rule(10, "roomy"), rule(1, "tight")
    now = 600.0
    assert ratelimit.hit([roomy, tight], now=now).allowed
    refused = ratelimit.hit([roomy, tight], now=now + 1)
    assert not refused.allowed and refused.rule == tight
    # `roomy` was counted once, not twice: 9 more hits fit on it alone.
    assert all(ratelimit.hit([roomy], now=now + 2).allowed for _ in range(9))
    assert not ratelimit.hit([roomy], now=now + 3).allowed


def test_the_previous_window_weighs_in_by_its_overlap(backend):
    limited = rule(4)
    window_start = 1200.0
    for _ in range(4):
        assert ratelimit.hit([limited], now=window_start + 50).allowed
    # 30 s into the next window, half of the previous window's 4 hits still count: 2 + 2 fit.
    half = window_start + 60 + 30
    assert ratelimit.hit([limited], now=half).allowed
    assert ratelimit.hit([limited], now=half).allowed
    refused = ratelimit.hit([limited], now=half)
    assert not refused.allowed
    # One more fits once a quarter of the previous window's weight is left: 15 s later,
    # 4 * 0.25 + 2 + this one = 4.
    assert refused.retry_after_s == 15
    assert not ratelimit.hit([limited], now=half + 14).allowed
    assert ratelimit.hit([limited], now=half + 15).allowed


def test_reset_forgets_the_counters(backend):
    limited = rule(1)
    assert ratelimit.hit([limited], now=3000.0).allowed
    assert not ratelimit.hit([limited], now=3001.0).allowed
    ratelimit.reset([limited], now=3001.0)
    assert ratelimit.hit([limited], now=3002.0).allowed

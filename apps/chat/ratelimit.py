"""Sliding-window rate limits kept in the Django cache (Redis across processes, LocMem alone).

A sliding-window counter: the count of the current fixed window plus the previous window's
count weighted by how much of it still overlaps the last `window_s` seconds. It needs two
integers per key and never lets a burst at a window boundary through at twice the limit.

`hit` consumes one unit from every rule or from none: when a later rule refuses, the
earlier increments are taken back, so a refused frame costs the client nothing.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.core.cache import cache

KEY_PREFIX = "chat:rl"


@dataclass(frozen=True)
class Rule:
    """At most `limit` hits per `window_s` seconds for `key` (for example "ip:10.0.0.1")."""

    key: str
    limit: int
    window_s: int = 60


@dataclass(frozen=True)
class Decision:
    allowed: bool
    rule: Rule | None = None  # the rule that refused
    retry_after_s: int = 0


def _cache_key(rule: Rule, window_index: int) -> str:
    # Hash the key: IPv6 colons and long ids are fine for Redis, not for every cache backend.
    digest = hashlib.sha256(rule.key.encode()).hexdigest()[:32]
    return f"{KEY_PREFIX}:{rule.window_s}:{digest}:{window_index}"


def _incr(key: str, timeout_s: int) -> int:
    cache.add(key, 0, timeout=timeout_s)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 0, timeout=timeout_s)
        return cache.incr(key)


def _decr(key: str) -> None:
    try:
        cache.decr(key)
    except ValueError:
        pass  # the window already expired: nothing left to give back


def hit(rules: list[Rule], *, now: float | None = None) -> Decision:
    """Count one hit against every rule; refuse (and count nothing) if any is over its limit."""
    now = time.time() if now is None else now
    taken: list[str] = []
    for rule in rules:
        window_index = int(now // rule.window_s)
        elapsed_fraction = (now % rule.window_s) / rule.window_s
        current_key = _cache_key(rule, window_index)
        current = _incr(current_key, timeout_s=rule.window_s * 2 + 5)
        previous = cache.get(_cache_key(rule, window_index - 1)) or 0
        estimate = previous * (1 - elapsed_fraction) + current
        if estimate > rule.limit:
            _decr(current_key)
            for key in taken:
                _decr(key)
            # When would the estimate drop below the limit again? At the latest, when the
            # previous window has slid out; say so in whole seconds.
            if previous and current <= rule.limit:
                needed = (previous * (1 - elapsed_fraction) + current - rule.limit) / previous
                retry_after_s = math.ceil(needed * rule.window_s)
            else:
                retry_after_s = math.ceil(rule.window_s * (1 - elapsed_fraction))
            return Decision(allowed=False, rule=rule, retry_after_s=max(1, retry_after_s))
        taken.append(current_key)
    return Decision(allowed=True)


def reset(rules: list[Rule], *, now: float | None = None) -> None:
    """Forget the counters of these rules (tests and admin tooling)."""
    now = time.time() if now is None else now
    for rule in rules:
        window_index = int(now // rule.window_s)
        cache.delete_many([_cache_key(rule, window_index), _cache_key(rule, window_index - 1)])

"""Sliding-window rate limits kept in Redis (shared by every process) or, without Redis, in
the Django cache (LocMem: one process).

A sliding-window counter: the count of the current fixed window plus the previous window's
count weighted by how much of it still overlaps the last `window_s` seconds. It needs two
integers per key and never lets a burst at a window boundary through at twice the limit.

`hit` consumes one unit from every rule or from none: when any rule refuses, every
increment is taken back, so a refused frame costs the client nothing.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from django.conf import settings
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


@dataclass(frozen=True)
class _Window:
    """One rule's counters at `now`: this fixed window's and the previous one's."""

    rule: Rule
    current_key: str
    previous_key: str
    elapsed_fraction: float

    @property
    def ttl_s(self) -> int:
        return self.rule.window_s * 2 + 5  # long enough to serve as "previous" next window


class _RedisCounters:
    """Every rule's counters in one round trip (a pipeline); this runs for every message.

    Django's Redis cache needs four round trips per rule (add, exists, incr, get) and builds
    a client object for each, which showed up as a tenth of the server's per-message work.
    """

    def __init__(self, url: str, prefix: str) -> None:
        import redis

        self.url = url
        self.prefix = prefix
        self.client = redis.Redis.from_url(url)

    def _key(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def take(self, windows: list[_Window]) -> list[tuple[int, int]]:
        """Count one hit in every current window; (current, previous) counts per rule."""
        pipe = self.client.pipeline(transaction=False)
        for w in windows:
            pipe.incr(self._key(w.current_key))
            pipe.expire(self._key(w.current_key), w.ttl_s)
            pipe.get(self._key(w.previous_key))
        replies = pipe.execute()
        return [(int(replies[3 * i]), int(replies[3 * i + 2] or 0)) for i in range(len(windows))]

    def give_back(self, windows: list[_Window]) -> None:
        pipe = self.client.pipeline(transaction=False)
        for w in windows:
            pipe.decr(self._key(w.current_key))
        pipe.execute()

    def delete(self, keys: list[str]) -> None:
        self.client.delete(*[self._key(k) for k in keys])


class _CacheCounters:
    """The same counters in the Django cache (LocMem: one process, embedded mode)."""

    def take(self, windows: list[_Window]) -> list[tuple[int, int]]:
        counts = []
        for w in windows:
            cache.add(w.current_key, 0, timeout=w.ttl_s)
            try:
                current = cache.incr(w.current_key)
            except ValueError:  # expired between add and incr
                cache.add(w.current_key, 0, timeout=w.ttl_s)
                current = cache.incr(w.current_key)
            counts.append((current, cache.get(w.previous_key) or 0))
        return counts

    def give_back(self, windows: list[_Window]) -> None:
        for w in windows:
            try:
                cache.decr(w.current_key)
            except ValueError:
                pass  # the window already expired: nothing left to give back

    def delete(self, keys: list[str]) -> None:
        cache.delete_many(keys)


_redis_counters: _RedisCounters | None = None


def _counters() -> _RedisCounters | _CacheCounters:
    """Redis when the project has one (shared by every process), else the Django cache."""
    global _redis_counters
    url = settings.REDIS_URL
    if not url:
        return _CacheCounters()
    prefix = settings.REDIS_KEY_PREFIX
    if _redis_counters is None or (_redis_counters.url, _redis_counters.prefix) != (url, prefix):
        _redis_counters = _RedisCounters(url, prefix)
    return _redis_counters


def _windows(rules: list[Rule], now: float) -> list[_Window]:
    windows = []
    for rule in rules:
        index = int(now // rule.window_s)
        windows.append(
            _Window(
                rule=rule,
                current_key=_cache_key(rule, index),
                previous_key=_cache_key(rule, index - 1),
                elapsed_fraction=(now % rule.window_s) / rule.window_s,
            )
        )
    return windows


def hit(rules: list[Rule], *, now: float | None = None) -> Decision:
    """Count one hit against every rule; refuse (and count nothing) if any is over its limit."""
    now = time.time() if now is None else now
    if not rules:
        return Decision(allowed=True)
    windows = _windows(rules, now)
    counters = _counters()
    counts = counters.take(windows)
    for w, (current, previous) in zip(windows, counts, strict=True):
        estimate = previous * (1 - w.elapsed_fraction) + current
        if estimate <= w.rule.limit:
            continue
        counters.give_back(windows)
        # When would the estimate drop below the limit again? At the latest, when the
        # previous window has slid out; say so in whole seconds.
        if previous and current <= w.rule.limit:
            needed = (previous * (1 - w.elapsed_fraction) + current - w.rule.limit) / previous
            retry_after_s = math.ceil(needed * w.rule.window_s)
        else:
            retry_after_s = math.ceil(w.rule.window_s * (1 - w.elapsed_fraction))
        return Decision(allowed=False, rule=w.rule, retry_after_s=max(1, retry_after_s))
    return Decision(allowed=True)


def reset(rules: list[Rule], *, now: float | None = None) -> None:
    """Forget the counters of these rules (tests and admin tooling)."""
    now = time.time() if now is None else now
    windows = _windows(rules, now)
    _counters().delete([key for w in windows for key in (w.current_key, w.previous_key)])

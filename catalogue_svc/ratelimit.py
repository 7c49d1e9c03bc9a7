"""Rate limits: sliding-window logs shared through Redis, or in-process in the embedded mode.

A :class:`Limit` is a name, a maximum and a window: at most ``max`` attempts in *any* interval of
``window`` seconds (an exact sliding log, not a fixed window that a burst at its boundary could
double). Callers count attempts against one or more ``(limit, key)`` pairs, for example
``(LOGIN_IP, ip)`` and ``(LOGIN_EMAIL, email)``:

* :meth:`RateLimiter.hit` counts an attempt against every pair and raises
  :class:`~catalogue_svc.errors.RateLimited` (429 + ``Retry-After``) when one of them is full; a
  refused attempt counts nothing, so a flood does not lengthen its own ban.
* :meth:`RateLimiter.check` only asks whether one more attempt would pass, and
  :meth:`RateLimiter.add` counts afterwards: together they limit *failures* (a wrong password, a
  wrong code) without counting successes.

With ``REDIS_URL`` set every web process shares the logs through one Lua script, so the check and
the increment are atomic across all the keys of a call. Time comes from the injectable clock, so
tests move windows with ``clock.advance``. Keys are hashed: no email or IP is written to Redis.
If Redis cannot be reached the process falls back to its own logs and warns: the limits still hold
per process, and the database keeps the hard per-credential attempt caps anyway.
"""

from __future__ import annotations

import hashlib
import logging
import math
import secrets
import threading
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass

from flask import Flask, current_app

from .clock import now
from .errors import RateLimited

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    """At most ``max`` attempts in any ``window`` seconds, per key."""

    name: str
    max: int
    window: int


Check = tuple[Limit, str]


@dataclass(frozen=True)
class Outcome:
    """What the store saw: whether every key had room, and the longest wait if not."""

    fits: bool
    retry_after: float = 0.0
    full: tuple[str, ...] = ()


class Store:
    """Where the attempt logs live."""

    def apply(self, keys: list[tuple[str, Limit]], at: float, increment: bool) -> Outcome:
        """Drop entries older than each window; if every key has room (and ``increment``),
        record one attempt in each."""
        raise NotImplementedError

    def add(self, keys: list[tuple[str, Limit]], at: float) -> None:
        """Record one attempt in each key, unconditionally."""
        raise NotImplementedError

    def close(self) -> None:
        """Release connections."""


class MemoryStore(Store):
    """This process's logs, thread-safe (embedded mode, and the fallback when Redis fails)."""

    def __init__(self) -> None:
        self._logs: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self._calls = 0

    def _log(self, key: str, limit: Limit, at: float) -> deque[float]:
        entries = self._logs.setdefault(key, deque())
        while entries and entries[0] <= at - limit.window:
            entries.popleft()
        return entries

    def _sweep(self, at: float) -> None:
        # Forget keys whose every entry is older than a day (no limit is longer than that).
        self._calls += 1
        if self._calls % 1000 == 0:
            self._logs = {k: v for k, v in self._logs.items() if v and v[-1] > at - 86400}

    def apply(self, keys: list[tuple[str, Limit]], at: float, increment: bool) -> Outcome:
        with self._lock:
            self._sweep(at)
            waits: list[float] = []
            full: list[str] = []
            for key, limit in keys:
                entries = self._log(key, limit, at)
                if len(entries) + 1 > limit.max:
                    oldest_to_expire = entries[len(entries) - limit.max]
                    waits.append(oldest_to_expire + limit.window - at)
                    full.append(limit.name)
            if full:
                return Outcome(False, max(waits), tuple(full))
            if increment:
                for key, limit in keys:
                    self._record(key, limit, at)
            return Outcome(True)

    def _record(self, key: str, limit: Limit, at: float) -> None:
        entries = self._log(key, limit, at)
        entries.append(at)
        while len(entries) > 2 * limit.max:  # bounded even under unconditional adds
            entries.popleft()

    def add(self, keys: list[tuple[str, Limit]], at: float) -> None:
        with self._lock:
            for key, limit in keys:
                self._record(key, limit, at)


# KEYS: one sorted set per (limit, key). ARGV[1]: now; ARGV[2]: increment flag; ARGV[3]: a
# unique member suffix; then per key: window, max. (_ADD_LUA: the same without the flag.)
_LUA = """
local at = tonumber(ARGV[1])
local increment = ARGV[2] == '1'
local fits = 1
local wait = 0
local full = {}
for i = 1, #KEYS do
  local window = tonumber(ARGV[2 + 2 * i])
  local max = tonumber(ARGV[3 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', at - window)
  local count = redis.call('ZCARD', KEYS[i])
  if count + 1 > max then
    fits = 0
    local oldest = redis.call('ZRANGE', KEYS[i], count - max, count - max, 'WITHSCORES')
    local w = tonumber(oldest[2]) + window - at
    if w > wait then wait = w end
    table.insert(full, i)
  end
end
if fits == 1 and increment then
  for i = 1, #KEYS do
    local window = tonumber(ARGV[2 + 2 * i])
    redis.call('ZADD', KEYS[i], at, ARGV[1] .. ':' .. ARGV[3])
    redis.call('PEXPIRE', KEYS[i], math.ceil(window * 1000) + 1000)
  end
end
return {fits, tostring(wait), full}
"""

_ADD_LUA = """
for i = 1, #KEYS do
  local window = tonumber(ARGV[1 + 2 * i])
  local max = tonumber(ARGV[2 + 2 * i])
  redis.call('ZADD', KEYS[i], ARGV[1], ARGV[1] .. ':' .. ARGV[2])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(2 * max) - 1)
  redis.call('PEXPIRE', KEYS[i], math.ceil(window * 1000) + 1000)
end
return 1
"""


class RedisStore(Store):
    """Logs shared by every web process: one sorted set of timestamps per key."""

    def __init__(self, url: str, prefix: str) -> None:
        from redis import Redis

        self.redis = Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix = prefix
        self._apply = self.redis.register_script(_LUA)
        self._add = self.redis.register_script(_ADD_LUA)

    def _args(self, keys: list[tuple[str, Limit]]) -> tuple[list[str], list[int]]:
        names = [f"{self.prefix}:{key}" for key, _ in keys]
        per_key: list[int] = []
        for _, limit in keys:
            per_key += [limit.window, limit.max]
        return names, per_key

    def apply(self, keys: list[tuple[str, Limit]], at: float, increment: bool) -> Outcome:
        names, per_key = self._args(keys)
        fits, wait, full = self._apply(
            keys=names, args=[repr(at), "1" if increment else "0", secrets.token_hex(6), *per_key]
        )
        if int(fits):
            return Outcome(True)
        return Outcome(False, float(wait), tuple(keys[int(i) - 1][1].name for i in full))

    def add(self, keys: list[tuple[str, Limit]], at: float) -> None:
        names, per_key = self._args(keys)
        self._add(keys=names, args=[repr(at), secrets.token_hex(6), *per_key])

    def close(self) -> None:
        self.redis.close()


class RateLimiter:
    """Counts attempts per (limit, key) and refuses those over a limit with a 429."""

    def __init__(self, store: Store, overrides: dict[str, tuple[int, int]] | None = None) -> None:
        self.store = store
        self.overrides = dict(overrides or {})
        self.fallback = store if isinstance(store, MemoryStore) else MemoryStore()

    def effective(self, limit: Limit) -> Limit:
        """The limit with its configured override (``CATALOGUE_RATELIMITS``), if any."""
        if limit.name in self.overrides:
            maximum, window = self.overrides[limit.name]
            return Limit(limit.name, int(maximum), int(window))
        return limit

    def _keys(self, checks: Iterable[Check]) -> list[tuple[str, Limit]]:
        keys = []
        for limit, key in checks:
            limit = self.effective(limit)
            digest = hashlib.sha256(f"{limit.name}\x00{key}".encode()).hexdigest()[:32]
            keys.append((f"{limit.name}:{digest}", limit))
        return keys

    def _apply(self, checks: Iterable[Check], increment: bool) -> None:
        keys = self._keys(checks)
        at = now().timestamp()
        try:
            outcome = self.store.apply(keys, at, increment)
        except Exception as exc:  # noqa: BLE001 - Redis down: keep limiting, per process
            log.warning(
                "rate limit store unavailable; using process-local counters",
                extra={"fields": {"error": type(exc).__name__}},
            )
            outcome = self.fallback.apply(keys, at, increment)
        if not outcome.fits:
            log.info("rate limited", extra={"fields": {"limits": list(outcome.full)}})
            raise RateLimited(math.ceil(max(outcome.retry_after, 1.0)))

    def hit(self, *checks: Check) -> None:
        """Count one attempt against every pair, or raise RateLimited (counting nothing)."""
        self._apply(checks, increment=True)

    def check(self, *checks: Check) -> None:
        """Raise RateLimited if one more attempt would exceed a limit; count nothing."""
        self._apply(checks, increment=False)

    def add(self, *checks: Check) -> None:
        """Count one attempt against every pair without checking (e.g. after a failure)."""
        keys = self._keys(checks)
        at = now().timestamp()
        try:
            self.store.add(keys, at)
        except Exception as exc:  # noqa: BLE001
            log.warning(
                "rate limit store unavailable; using process-local counters",
                extra={"fields": {"error": type(exc).__name__}},
            )
            self.fallback.add(keys, at)

    def close(self) -> None:
        """Release the store's connections."""
        self.store.close()


def init_app(app: Flask) -> None:
    """Choose the store: Redis when REDIS_URL is set, this process's memory otherwise.

    ``CATALOGUE_RATELIMITS`` (a setting, ``login-ip=5/60,…``) overrides limits by name;
    ``CATALOGUE_RATELIMIT_PREFIX`` prefixes the Redis keys (default ``rl``).
    """
    settings = app.config["CATALOGUE_SETTINGS"]
    store: Store
    if settings.redis_url:
        store = RedisStore(settings.redis_url, app.config.get("CATALOGUE_RATELIMIT_PREFIX", "rl"))
    else:
        store = MemoryStore()
    app.extensions["catalogue_ratelimit"] = RateLimiter(store, dict(settings.ratelimits))


def limiter() -> RateLimiter:
    """The current app's rate limiter."""
    return current_app.extensions["catalogue_ratelimit"]  # type: ignore[no-any-return]

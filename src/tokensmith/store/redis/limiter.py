"""The rate limiter in Redis: one hash per key, counted by every process together.

A failure is one Lua script (atomic on the server), with the arithmetic of
:class:`~tokensmith.store.memory.MemoryRateLimiter` step for step, so back-off is the same
whichever backend counts (the contract tests run both). Times come from the caller's
clock (``now``), never from Redis; a key expires by itself once its window and block are
over (plus a minute), so nothing needs purging.

While Redis is down every call raises
:class:`~tokensmith.store.errors.StoreUnavailable` (fail closed), or, with
``fail_open``, lets the attempt through (0 s blocked) and logs the outage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from ..errors import StoreUnavailable
from .link import RedisLink, safe_part

__all__ = ["RedisRateLimiter"]

#: KEYS[1] the counter; ARGV now, limit, window, backoff, max_backoff. Returns the seconds
#: blocked as a string (%.17g keeps every bit of the double; Lua's tostring would not).
_FAILURE = """
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local backoff = tonumber(ARGV[4])
local max_backoff = tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'failures', 'window_start', 'blocked_until')
local failures = tonumber(state[1])
local window_start = tonumber(state[2])
local blocked_until = tonumber(state[3]) or 0
if failures == nil or (now - window_start > window and blocked_until <= now) then
  failures = 0
  window_start = now
  blocked_until = 0
end
failures = failures + 1
if failures >= limit then
  local block = math.min(max_backoff, backoff * 2 ^ math.min(failures - limit, 30))
  blocked_until = math.max(blocked_until, now + block)
  window_start = now
end
redis.call('HSET', KEYS[1], 'failures', string.format('%d', failures),
  'window_start', string.format('%.17g', window_start),
  'blocked_until', string.format('%.17g', blocked_until))
local keep = math.max(window, blocked_until - now) + 60
redis.call('PEXPIRE', KEYS[1], string.format('%d', math.ceil(keep * 1000)))
return string.format('%.17g', math.max(0, blocked_until - now))
"""


class RedisRateLimiter:
    def __init__(self, link: RedisLink, *, fail_open: bool = False) -> None:
        self._link = link
        self._fail_open = fail_open
        self._failure = link.client.register_script(_FAILURE)

    def _key(self, key: str) -> bytes:
        return self._link.key("ratelimit", "").encode() + safe_part(key)

    async def _call(self, what: str, operation: Callable[[], Awaitable[object]]) -> object:
        try:
            return await self._link.call(what, operation)
        except StoreUnavailable:
            if self._fail_open:
                return None  # logged by the link; the policy lets the attempt through
            raise

    async def blocked_for(self, key: str, *, now: float) -> float:
        name = self._key(key)
        raw = await self._call(
            "rate limit check",
            lambda: self._link.client.hget(name, "blocked_until"),
        )
        if raw is None:
            return 0.0
        return max(0.0, float(str(raw)) - now)

    async def failure(
        self,
        key: str,
        *,
        now: float,
        limit: int,
        window: float,
        backoff: float,
        max_backoff: float,
    ) -> float:
        name = self._key(key)
        args = [repr(float(now)), str(limit), repr(window), repr(backoff), repr(max_backoff)]
        raw = await self._call("rate limit count", lambda: self._failure(keys=[name], args=args))
        return 0.0 if raw is None else float(str(raw))

    async def reset(self, key: str) -> None:
        name = self._key(key)
        await self._call("rate limit reset", lambda: self._link.client.delete(name))

"""The replay cache in Redis (private_key_jwt ``jti``; DPoP proofs use it with their own
key namespace): "use once until it expires", decided by one Lua script per use.

An entry holds its ``expires_at`` and lives in Redis for ``expires_at - now`` (at least
1 ms), like ``SET NX PX``; the script also compares the stored expiry with the caller's
``now``, so the answer follows the caller's clock even where it differs from Redis's.
A sorted set indexes the entries by expiry, so :meth:`purge` can tell how many it forgot.

Replay checks always fail closed: while Redis is down :meth:`use` raises
:class:`~tokensmith.store.errors.StoreUnavailable` (accepting an unchecked assertion
would accept a replay).
"""

from __future__ import annotations

from .link import RedisLink, safe_part

__all__ = ["RedisAssertionReplayStore"]

#: KEYS[1] the entry, KEYS[2] the index; ARGV member, expires_at, now -> 1 used, 0 replay
_USE = """
local now = tonumber(ARGV[3])
local seen = tonumber(redis.call('GET', KEYS[1]))
if seen ~= nil and seen > now then
  return 0
end
local ttl = math.max(1, math.ceil((tonumber(ARGV[2]) - now) * 1000))
redis.call('SET', KEYS[1], ARGV[2], 'PX', string.format('%d', ttl))
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
return 1
"""

#: KEYS[1] the index; ARGV now, entry key prefix, batch size -> index entries dropped
_PURGE = """
local now = tonumber(ARGV[1])
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[3])
for _, member in ipairs(members) do
  local entry = ARGV[2] .. member
  local seen = tonumber(redis.call('GET', entry))
  if seen == nil or seen <= now then
    redis.call('DEL', entry)
  end
  redis.call('ZREM', KEYS[1], member)
end
return #members
"""

_PURGE_BATCH = 1000


class RedisAssertionReplayStore:
    def __init__(self, link: RedisLink) -> None:
        self._link = link
        self._entries = link.key("replay", "")
        self._index = link.key("replay-index")
        self._use = link.client.register_script(_USE)
        self._purge = link.client.register_script(_PURGE)

    async def use(self, key: str, *, expires_at: float, now: float) -> bool:
        member = safe_part(key)
        args: list[bytes | str] = [member, repr(float(expires_at)), repr(float(now))]
        keys: list[bytes | str] = [self._entries.encode() + member, self._index]
        result = await self._link.call("replay check", lambda: self._use(keys=keys, args=args))
        return bool(int(str(result)))

    async def purge(self, *, now: float) -> int:
        args = [repr(float(now)), self._entries, str(_PURGE_BATCH)]
        total = 0
        while True:
            dropped = int(
                str(
                    await self._link.call(
                        "replay purge", lambda: self._purge(keys=[self._index], args=args)
                    )
                )
            )
            total += dropped
            if dropped < _PURGE_BATCH:
                return total

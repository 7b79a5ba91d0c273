"""Redis for the fast state that several ``tokensmith serve`` processes share (redis-py
asyncio): the rate limiter, the replay cache, and the notices that fan revocations and key
changes out to every process. The SQL database stays the source of truth for everything
durable (revocations included); Redis holds only what may be lost with it.

Every key lives under one prefix (``tokensmith:`` by default), so deployments and tests
can share a server. Imported only when ``TOKENSMITH_REDIS_URL`` is set.
"""

from __future__ import annotations

import dataclasses

from ..stores import Stores
from .limiter import RedisRateLimiter
from .link import RedisLink, describe_redis
from .notices import RedisNotices
from .replays import RedisAssertionReplayStore

__all__ = [
    "RedisAssertionReplayStore",
    "RedisLink",
    "RedisNotices",
    "RedisRateLimiter",
    "describe_redis",
    "open_redis",
]


async def open_redis(stores: Stores, url: str, *, prefix: str, fail_open: bool) -> Stores:
    """``stores`` with the Redis-backed parts. Redis need not answer yet: calls fail with
    ``StoreUnavailable`` (or pass, for rate limits with ``fail_open``) until it does, and
    the notice subscription keeps trying in the background."""
    link = RedisLink(url, prefix=prefix)
    notices = RedisNotices(link)
    notices.start()

    async def close() -> None:
        try:
            await notices.close()
            await link.close()
        finally:
            await stores.close()

    return dataclasses.replace(
        stores,
        rate_limiter=RedisRateLimiter(link, fail_open=fail_open),
        assertion_replays=RedisAssertionReplayStore(link),
        notices=notices,
        ping=link.ping,
        close=close,
        description=f"{stores.description} + {link.description} ({prefix}*)",
    )

"""The connection to Redis that every Redis store shares: short timeouts, one quick retry
(a pooled connection that died with a restarted server), and every failure turned into
:class:`~tokensmith.store.errors.StoreUnavailable` — never a hang, never a stack trace.

Outages are logged once when they start and once when Redis answers again, not per call.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import urllib.parse
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from ..errors import StoreUnavailable

__all__ = ["CALL_TIMEOUT", "SOCKET_TIMEOUT", "RedisLink", "describe_redis", "safe_part"]

log = logging.getLogger("tokensmith.store.redis")

T = TypeVar("T")

#: connect and read timeout of one socket operation, seconds
SOCKET_TIMEOUT = 0.5
#: the most one call may take, retries included
CALL_TIMEOUT = 2.0
#: what a client is told to wait while Redis is down (``Retry-After``)
RETRY_AFTER = 1
#: the longest caller-given key part stored as it is (longer ones are hashed)
MAX_PART = 200
#: errors that mean "Redis did not answer (properly)"
FAILURES: tuple[type[BaseException], ...] = (RedisError, OSError, TimeoutError)


def describe_redis(url: str) -> str:
    """The URL without its password, for logs."""
    parts = urllib.parse.urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":****@")
        return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
    return url


def safe_part(value: str) -> bytes:
    """A caller's value (an address, a username, a ``jti``) as a key part: any string
    encodes (lone surrogates too), and a long one is replaced by its SHA-256, so no
    client can make a key longer than ``MAX_PART`` bytes."""
    raw = value.encode("utf-8", "surrogatepass")
    if len(raw) > MAX_PART:
        return b"sha256:" + hashlib.sha256(raw).hexdigest().encode()
    return raw


class RedisLink:
    """One redis-py client (a connection pool) and the key prefix of this deployment."""

    def __init__(self, url: str, *, prefix: str) -> None:
        self.prefix = prefix
        self.description = describe_redis(url)
        self.client: Redis = Redis.from_url(
            url,
            socket_timeout=SOCKET_TIMEOUT,
            socket_connect_timeout=SOCKET_TIMEOUT,
            socket_keepalive=True,
            retry=Retry(NoBackoff(), 1),
            decode_responses=True,
        )
        self._down_since: float | None = None

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    async def call(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation``; :class:`StoreUnavailable` when Redis does not answer."""
        try:
            async with asyncio.timeout(CALL_TIMEOUT):
                result = await operation()
        except FAILURES as exc:
            self.failed(what, exc)
            raise StoreUnavailable(
                f"Redis did not answer ({what}); try again shortly", retry_after=RETRY_AFTER
            ) from None
        self.answered()
        return result

    def failed(self, what: str, exc: BaseException) -> None:
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.error(
                "Redis %s does not answer (%s: %s)", self.description, what, type(exc).__name__
            )

    def answered(self) -> None:
        if self._down_since is not None:
            log.warning(
                "Redis %s answers again after %.1f s",
                self.description,
                time.monotonic() - self._down_since,
            )
            self._down_since = None

    async def ping(self) -> None:
        await self.call("ping", self.client.ping)

    async def close(self) -> None:
        await self.client.aclose()

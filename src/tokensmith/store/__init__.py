"""Storage behind narrow Protocols: a memory backend and one SQL schema (SQLite embedded,
PostgreSQL at scale) with Alembic migrations applied at start, and Redis for the shared
fast state of several processes (rate limits, replay caches, notices).

``Stores`` bundles one instance of each Protocol; the issuer takes a ``Stores``.
"""

from __future__ import annotations

from .errors import DuplicateError, StoreError, StoreUnavailable
from .protocols import (
    AssertionReplayStore,
    AuditStore,
    ClientStore,
    InviteStore,
    KeyStore,
    NoticeHandler,
    Notices,
    RateLimiter,
    RefreshTokenStore,
    RevocationStore,
    SessionStore,
    SetupTokenStore,
    UserStore,
)
from .records import (
    AuditRecord,
    ClientRecord,
    ConsumeResult,
    DPoPMode,
    InviteRecord,
    KeyRecord,
    RefreshTokenRecord,
    RefreshTokenWithOwner,
    RevocationRecord,
    SessionRecord,
    UserRecord,
)
from .stores import Stores

__all__ = [
    "AssertionReplayStore",
    "AuditRecord",
    "AuditStore",
    "ClientRecord",
    "ClientStore",
    "ConsumeResult",
    "DPoPMode",
    "DuplicateError",
    "InviteRecord",
    "InviteStore",
    "KeyRecord",
    "KeyStore",
    "NoticeHandler",
    "Notices",
    "RateLimiter",
    "RefreshTokenRecord",
    "RefreshTokenStore",
    "RefreshTokenWithOwner",
    "RevocationRecord",
    "RevocationStore",
    "SessionRecord",
    "SessionStore",
    "SetupTokenStore",
    "StoreError",
    "StoreUnavailable",
    "Stores",
    "UserRecord",
    "UserStore",
    "memory_stores",
    "open_stores",
    "with_redis",
]


def memory_stores() -> Stores:
    """Everything in process memory: for tests and throw-away runs."""
    from .memory import build_memory_stores

    return build_memory_stores()


async def open_stores(database_url: str, *, migrate: bool = True) -> Stores:
    """The SQL backend for ``database_url``: ``sqlite:///path`` (``sqlite+aiosqlite:///``
    is accepted too; SQLite always runs on the ``sqlite3`` driver in worker threads) or
    ``postgresql+asyncpg://...``. Applies the Alembic migrations first when ``migrate``."""
    from .sql import open_sql_stores

    return await open_sql_stores(database_url, migrate=migrate)


async def with_redis(
    stores: Stores, redis_url: str, *, prefix: str = "tokensmith:", fail_open: bool = False
) -> Stores:
    """``stores`` with the rate limiter, the replay cache and the notices in Redis (every
    key under ``prefix``); closing the result closes Redis and then ``stores``. Imports
    redis-py only when called. ``fail_open``: while Redis is down, rate-limit checks are
    skipped (logged) instead of failing with :class:`StoreUnavailable`."""
    from .redis import open_redis

    return await open_redis(stores, redis_url, prefix=prefix, fail_open=fail_open)

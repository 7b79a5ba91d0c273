"""Storage behind narrow Protocols: a memory backend and one SQL schema (SQLite embedded,
PostgreSQL at scale) with Alembic migrations applied at start.

``Stores`` bundles one instance of each Protocol; the issuer takes a ``Stores``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .errors import DuplicateError, StoreError
from .protocols import (
    AuditStore,
    InviteStore,
    KeyStore,
    RateLimiter,
    RefreshTokenStore,
    RevocationStore,
    SessionStore,
    SetupTokenStore,
    UserStore,
)
from .records import (
    AuditRecord,
    ConsumeResult,
    InviteRecord,
    KeyRecord,
    RefreshTokenRecord,
    RevocationRecord,
    SessionRecord,
    UserRecord,
)

__all__ = [
    "AuditRecord",
    "AuditStore",
    "ConsumeResult",
    "DuplicateError",
    "InviteRecord",
    "InviteStore",
    "KeyRecord",
    "KeyStore",
    "RateLimiter",
    "RefreshTokenRecord",
    "RefreshTokenStore",
    "RevocationRecord",
    "RevocationStore",
    "SessionRecord",
    "SessionStore",
    "SetupTokenStore",
    "StoreError",
    "Stores",
    "UserRecord",
    "UserStore",
    "memory_stores",
    "open_stores",
]


async def _nothing() -> None:
    return None


@dataclass(frozen=True)
class Stores:
    """One of each store; ``close`` releases the backend (a connection pool)."""

    users: UserStore
    sessions: SessionStore
    refresh_tokens: RefreshTokenStore
    keys: KeyStore
    revocations: RevocationStore
    audit: AuditStore
    invites: InviteStore
    setup_tokens: SetupTokenStore
    rate_limiter: RateLimiter
    close: Callable[[], Awaitable[None]] = field(default=_nothing)
    #: a short description for logs and ``/readyz`` (never a password)
    description: str = "memory"


def memory_stores() -> Stores:
    """Everything in process memory: for tests and throw-away runs."""
    from .memory import build_memory_stores

    return build_memory_stores()


async def open_stores(database_url: str, *, migrate: bool = True) -> Stores:
    """The SQL backend for ``database_url`` (``sqlite+aiosqlite:///path`` or
    ``postgresql+asyncpg://...``); applies the Alembic migrations first when ``migrate``."""
    from .sql import open_sql_stores

    return await open_sql_stores(database_url, migrate=migrate)

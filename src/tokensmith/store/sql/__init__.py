"""The SQL backend: SQLAlchemy 2 async Core over aiosqlite (embedded default) or asyncpg."""

from __future__ import annotations

from ..memory import MemoryRateLimiter
from ..stores import Stores
from .backend import (
    SqlAuditStore,
    SqlInviteStore,
    SqlKeyStore,
    SqlRefreshTokenStore,
    SqlRevocationStore,
    SqlSessionStore,
    SqlSetupTokenStore,
    SqlUserStore,
    WriteGate,
)
from .engine import create_engine, describe, migrate
from .engine import migrate as _migrate

__all__ = ["create_engine", "migrate", "open_sql_stores"]


async def open_sql_stores(database_url: str, *, migrate: bool = True) -> Stores:
    """Stores over one engine for ``database_url``; migrations applied first when asked.

    Rate limits stay in process memory (a Redis limiter is for scale-out)."""
    engine = create_engine(database_url)
    try:
        if migrate:
            await _migrate(engine)
    except BaseException:
        await engine.dispose()
        raise
    gate = WriteGate(engine)
    return Stores(
        users=SqlUserStore(engine, gate),
        sessions=SqlSessionStore(engine, gate),
        refresh_tokens=SqlRefreshTokenStore(engine, gate),
        keys=SqlKeyStore(engine, gate),
        revocations=SqlRevocationStore(engine, gate),
        audit=SqlAuditStore(engine, gate),
        invites=SqlInviteStore(engine, gate),
        setup_tokens=SqlSetupTokenStore(engine, gate),
        rate_limiter=MemoryRateLimiter(),
        close=engine.dispose,
        description=describe(database_url),
    )

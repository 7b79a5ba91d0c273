"""The SQL backend: SQLAlchemy 2 Core over SQLite (embedded default; the ``sqlite3``
driver on worker threads) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio

from ..memory import MemoryRateLimiter
from ..stores import Stores
from .backend import (
    SqlAuditStore,
    SqlInviteStore,
    SqlRefreshTokenStore,
    SqlRevocationStore,
    SqlSessionStore,
    SqlSetupTokenStore,
    SqlUserStore,
)
from .clients import SqlAssertionReplayStore, SqlClientStore
from .engine import (
    create_engine,
    create_sqlite_engine,
    describe,
    is_sqlite,
    migrate,
    migrate_sync,
)
from .keys import SqlKeyStore
from .runner import AsyncRunner, Runner, ThreadRunner

__all__ = ["create_engine", "migrate", "open_sql_stores"]


async def _runner(database_url: str, *, run_migrations: bool) -> Runner:
    if is_sqlite(database_url):
        sync_engine = create_sqlite_engine(database_url)
        try:
            if run_migrations:
                await asyncio.to_thread(migrate_sync, sync_engine)
        except BaseException:
            sync_engine.dispose()
            raise
        return ThreadRunner(sync_engine)
    engine = create_engine(database_url)
    try:
        if run_migrations:
            await migrate(engine)
    except BaseException:
        await engine.dispose()
        raise
    return AsyncRunner(engine)


async def open_sql_stores(database_url: str, *, migrate: bool = True) -> Stores:
    """Stores over one engine for ``database_url``; migrations applied first when asked.

    Rate limits stay in process memory (a Redis limiter is for scale-out)."""
    runner = await _runner(database_url, run_migrations=migrate)
    return Stores(
        users=SqlUserStore(runner),
        sessions=SqlSessionStore(runner),
        refresh_tokens=SqlRefreshTokenStore(runner),
        keys=SqlKeyStore(runner),
        revocations=SqlRevocationStore(runner),
        audit=SqlAuditStore(runner),
        invites=SqlInviteStore(runner),
        setup_tokens=SqlSetupTokenStore(runner),
        rate_limiter=MemoryRateLimiter(),
        clients=SqlClientStore(runner),
        assertion_replays=SqlAssertionReplayStore(runner),
        close=runner.dispose,
        description=describe(database_url),
    )

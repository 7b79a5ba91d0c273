"""Engines and migrations: SQLite (WAL, busy timeout, foreign keys) and PostgreSQL."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

__all__ = [
    "MIGRATIONS_DIR",
    "create_engine",
    "create_sqlite_engine",
    "describe",
    "migrate",
    "migrate_sync",
]

log = logging.getLogger("tokensmith.store")

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
#: pg_advisory_lock key serialising migrations of several processes starting at once
_MIGRATION_LOCK = 0x746F6B656E  # "token"
SQLITE_BUSY_TIMEOUT_MS = 10_000


def describe(database_url: str) -> str:
    """The URL without its password, for logs."""
    return make_url(database_url).render_as_string(hide_password=True)


def create_engine(database_url: str, **options: Any) -> AsyncEngine:
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        if url.database in (None, "", ":memory:"):
            raise ValueError("the SQL store needs a SQLite file (use the memory store instead)")
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        options.setdefault("connect_args", {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        # reads never open a transaction (the driver begins one only before writes) and
        # every write transaction ends in an explicit commit or rollback, so the pool's
        # rollback-on-return would be one more thread hop for nothing
        options.setdefault("pool_reset_on_return", None)
    elif backend != "postgresql":
        raise ValueError(f"unsupported database {backend!r}: use sqlite+aiosqlite or postgresql")
    if backend == "postgresql":
        options.setdefault("pool_pre_ping", True)
    engine = create_async_engine(url, **options)
    if backend == "sqlite":
        sa.event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def is_sqlite(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "sqlite"


def create_sqlite_engine(database_url: str) -> sa.Engine:
    """A synchronous engine over the standard ``sqlite3`` driver for a SQLite URL (any
    driver named in it, e.g. ``sqlite+aiosqlite``, is replaced): the store runs it on
    worker threads (see ``runner.py``)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        raise ValueError("not a SQLite URL")
    if url.database in (None, "", ":memory:"):
        raise ValueError("the SQL store needs a SQLite file (use the memory store instead)")
    Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url.set(drivername="sqlite+pysqlite"),
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        # reads never open a transaction (the driver begins one only before writes) and
        # every write ends in an explicit commit or rollback: no rollback-on-return needed
        pool_reset_on_return=None,
        pool_size=8,
    )
    sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _alembic_config(connection: Connection | None) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection) -> None:
    from alembic import command

    command.upgrade(_alembic_config(connection), "head")


def current_revision(connection: Connection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def migrate_sync(engine: sa.Engine) -> None:
    """Apply every Alembic migration up to head over a synchronous engine (SQLite)."""
    with engine.connect() as conn:
        _upgrade(conn)
        conn.commit()


async def migrate(engine: AsyncEngine) -> None:
    """Apply every Alembic migration up to head (idempotent; serialised on PostgreSQL)."""
    async with engine.connect() as conn:
        postgres = engine.dialect.name == "postgresql"
        if postgres:
            await conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": _MIGRATION_LOCK})
            await conn.commit()
        try:
            await conn.run_sync(_upgrade)
            await conn.commit()
        finally:
            if postgres:
                await conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": _MIGRATION_LOCK})
                await conn.commit()
    log.debug("database migrated: %s", engine.url.render_as_string(hide_password=True))


def revisions_between(before: str | None, after: str | None) -> list[tuple[str, str]]:
    """The migrations from ``before`` (excluded) up to ``after``, oldest first, each as
    ``(revision, the first line of its docstring)``."""
    from alembic.script import ScriptDirectory

    if after is None or before == after:
        return []
    config = _alembic_config(None)
    scripts = ScriptDirectory.from_config(config)
    found = [
        (script.revision, (script.doc or "").strip().splitlines()[0] if script.doc else "")
        for script in scripts.iterate_revisions(after, before or "base")
    ]
    return found[::-1]


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    head: str | None = ScriptDirectory.from_config(_alembic_config(None)).get_current_head()
    return head


async def upgrade(database_url: str) -> tuple[str | None, str | None]:
    """Bring ``database_url`` to the newest schema (``tokensmith db upgrade``); the
    revision before and after."""
    if is_sqlite(database_url):
        import asyncio

        engine = create_sqlite_engine(database_url)

        def run() -> tuple[str | None, str | None]:
            with engine.connect() as conn:
                before = current_revision(conn)
            migrate_sync(engine)
            with engine.connect() as conn:
                return before, current_revision(conn)

        try:
            return await asyncio.to_thread(run)
        finally:
            engine.dispose()
    async_engine = create_engine(database_url)
    try:
        async with async_engine.connect() as conn:
            before = await conn.run_sync(current_revision)
        await migrate(async_engine)
        async with async_engine.connect() as conn:
            after = await conn.run_sync(current_revision)
        return before, after
    finally:
        await async_engine.dispose()

"""How store operations reach the database: each operation is one synchronous function of
a SQLAlchemy ``Connection``, run in one go.

- SQLite (:class:`ThreadRunner`): the function runs on a worker thread over the standard
  ``sqlite3`` driver: one thread hop per operation instead of one per driver call (an
  async driver hops for every execute, fetch and commit), and SQLite calls take
  microseconds. Writes go through one writer thread, so this process's transactions
  queue instead of sleeping in SQLite's busy handler; reads use a few reader threads
  (WAL mode lets them run beside the writer).
- PostgreSQL (:class:`AsyncRunner`): the function runs through asyncpg with
  ``AsyncConnection.run_sync``. A database that cannot be reached, or a connection lost
  mid-operation (a restart, a failover), raises :class:`StoreUnavailable` (the server's
  503 with ``Retry-After``), never a bare driver error; the transaction was rolled back
  (or, if the connection died during COMMIT, possibly committed: a retried rotation then
  gets the same child within the grace). The pool checks a connection before each use
  (``pool_pre_ping``), so the next operation after the outage reconnects by itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import StoreUnavailable

__all__ = ["AsyncRunner", "Runner", "ThreadRunner"]

T = TypeVar("T")


class Runner(Protocol):
    dialect: str

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` outside any write transaction."""

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in one transaction: committed when it returns, rolled back when
        it raises."""

    async def dispose(self) -> None: ...


class ThreadRunner:
    def __init__(self, engine: sa.Engine, *, readers: int = 4) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tokensmith-db-w")
        self._readers = ThreadPoolExecutor(
            max_workers=readers, thread_name_prefix="tokensmith-db-r"
        )
        self._disposed = False

    def _read(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.connect() as conn:
            return fn(conn)

    def _write(self, fn: Callable[[Connection], T]) -> T:
        with self.engine.begin() as conn:
            return fn(conn)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._readers, self._read, fn)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._writer, self._write, fn)

    async def dispose(self) -> None:
        """Close the connections and stop the threads (idempotent)."""
        if self._disposed:
            return
        self._disposed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._writer, self.engine.dispose)
        self._writer.shutdown(wait=False)
        self._readers.shutdown(wait=False)


def connection_lost(exc: BaseException) -> bool:
    """The database could not be reached or the connection died (not a query's error)."""
    import asyncpg  # type: ignore[import-untyped]

    seen: BaseException | None = exc
    for _ in range(6):  # the exception, the driver's original, their causes
        if seen is None:
            return False
        if isinstance(seen, sa.exc.DBAPIError) and seen.connection_invalidated:
            return True
        if isinstance(
            seen,
            OSError
            | TimeoutError
            | asyncpg.PostgresConnectionError
            | asyncpg.exceptions.OperatorInterventionError  # shutting down, starting up
            | asyncpg.TooManyConnectionsError,
        ):
            return True
        if isinstance(seen, asyncpg.InterfaceError) and "closed" in str(seen):
            return True
        orig = getattr(seen, "orig", None)
        seen = orig if isinstance(orig, BaseException) else (seen.__cause__ or seen.__context__)
    return False


async def _answered(operation: Awaitable[T]) -> T:
    try:
        return await operation
    except StoreUnavailable:
        raise
    except Exception as exc:
        if connection_lost(exc):
            raise StoreUnavailable("the database does not answer; try again shortly") from exc
        raise


class AsyncRunner:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    async def read(self, fn: Callable[[Connection], T]) -> T:
        async def run() -> T:
            async with self.engine.connect() as conn:
                return await conn.run_sync(fn)

        return await _answered(run())

    async def write(self, fn: Callable[[Connection], T]) -> T:
        async def run() -> T:
            async with self.engine.begin() as conn:
                return await conn.run_sync(fn)

        return await _answered(run())

    async def dispose(self) -> None:
        await self.engine.dispose()

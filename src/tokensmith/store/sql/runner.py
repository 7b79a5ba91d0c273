"""How store operations reach the database: each operation is one synchronous function of
a SQLAlchemy ``Connection``, run in one go.

- SQLite (:class:`ThreadRunner`): the function runs on a worker thread over the standard
  ``sqlite3`` driver: one thread hop per operation instead of one per driver call (an
  async driver hops for every execute, fetch and commit), and SQLite calls take
  microseconds. Writes go through one writer thread, so this process's transactions
  queue instead of sleeping in SQLite's busy handler; reads use a few reader threads
  (WAL mode lets them run beside the writer).
- PostgreSQL (:class:`AsyncRunner`): the function runs through asyncpg with
  ``AsyncConnection.run_sync``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

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


class AsyncRunner:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    async def read(self, fn: Callable[[Connection], T]) -> T:
        async with self.engine.connect() as conn:
            return await conn.run_sync(fn)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        async with self.engine.begin() as conn:
            return await conn.run_sync(fn)

    async def dispose(self) -> None:
        await self.engine.dispose()

"""How store operations reach the database: each operation is one synchronous function of
a SQLAlchemy ``Connection``, run in one go.

- SQLite (:class:`ThreadRunner`): the function runs on a worker thread over the standard
  ``sqlite3`` driver: one thread hop per operation instead of one per driver call (an
  async driver hops for every execute, fetch and commit), and SQLite calls take
  microseconds. Writes go through one writer thread, so this process's transactions
  queue instead of sleeping in SQLite's busy handler; reads use a few reader threads
  (WAL mode lets them run beside the writer). A *lookup* (a read of a few rows by key,
  the hot paths' user, session and token reads) runs at once on the event loop's own
  connection: its SQLite work takes a few microseconds, less than the two thread
  hand-offs a reader thread costs (each waking a thread on a machine whose cores are
  busy hashing passwords). It never waits for a lock there: if SQLite answers "busy", the
  lookup goes to a reader thread like any read. That connection is opened on a worker
  thread, never on the loop (opening runs the connect-time pragmas, which wait up to the
  busy timeout for another process's lock); until it is open, lookups are reads.
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
import contextlib
import logging
import queue
import sqlite3
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from ..errors import StoreUnavailable
from ..handoff import Outcome, deliver_all

__all__ = ["AsyncRunner", "Runner", "ThreadRunner"]

T = TypeVar("T")

log = logging.getLogger("tokensmith.store")


class Runner(Protocol):
    dialect: str

    async def read(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` outside any write transaction."""

    async def lookup(self, fn: Callable[[Connection], T]) -> T:
        """Like :meth:`read`, for a read of a few rows through an index that the caller
        may run without a thread hop (``fn`` must not write)."""

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """Run ``fn`` in one transaction: committed when it returns, rolled back when
        it raises."""

    async def dispose(self) -> None: ...


class ThreadRunner:
    """SQLite: a writer thread and ``readers`` reader threads, each with its own
    connection for its lifetime (no pool checkout per operation), fed by two queues;
    an operation hands its result back to the event loop with one ``call_soon_threadsafe``
    (lighter than an executor future chained to an asyncio one). Lookups run on one more
    connection, owned by the first thread that looks something up (the event loop's):
    without a busy timeout, so that thread never sleeps on a lock; other threads' lookups
    and busy ones are reads.

    That thread never opens the connection itself: opening runs the engine's connect-time
    pragmas (``journal_mode=WAL`` and the rest, with the engine's busy timeout), which wait
    for a lock another process holds, and on the loop that wait would freeze the server.
    The first lookup starts opening it on a worker thread of the loop's default executor
    (one open at a time, the busy timeout set to 0 there too) and, like every lookup that
    arrives before it is open, is a read. A failed open leaves lookups as reads until a
    later lookup tries again; :meth:`dispose` waits for an open in flight and closes what
    it opened; a connection in doubt is dropped and opened again the same way."""

    def __init__(self, engine: sa.Engine, *, readers: int = 4) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._writes: queue.SimpleQueue[list[_Job] | None] = queue.SimpleQueue()
        self._batch: _Batch | None = None  # the latest batch of writes (see write())
        self._sending = threading.Lock()  # a batch goes to the writer once
        self._starting = threading.Lock()  # the threads start once
        self._reads: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._readers = readers
        self._threads: list[threading.Thread] = []
        self._disposed = False
        self._here: Connection | None = None  # the lookups' connection
        self._here_thread: int | None = None  # ... and the one thread that uses it
        self._opening: asyncio.Future[Connection | None] | None = None  # ... being opened

    def _start(self) -> None:
        """The threads, at the first operation (daemons: a runner nobody disposed of
        does not keep the interpreter from exiting)."""
        self._threads = [
            threading.Thread(target=self._serve_writes, name="tokensmith-db-w", daemon=True),
            *(
                threading.Thread(
                    target=self._serve,
                    args=(self._reads,),
                    name=f"tokensmith-db-r_{i}",
                    daemon=True,
                )
                for i in range(self._readers)
            ),
        ]
        for thread in self._threads:
            thread.start()

    def _serve(self, jobs: queue.SimpleQueue[_Job | None]) -> None:
        """A reader thread: one read at a time, outside any transaction."""
        conn: Connection | None = None
        try:
            while (job := jobs.get()) is not None:
                fn, future, loop = job
                if future.cancelled():  # its caller stopped waiting before it started
                    continue
                try:
                    if conn is None:
                        conn = self.engine.connect()
                    try:
                        result = fn(conn)
                    finally:
                        # ends SQLAlchemy's transaction; sqlite3 began none for reads
                        conn.rollback()
                except BaseException as exc:
                    if conn is not None:  # a connection in doubt is not used again
                        with contextlib.suppress(Exception):
                            conn.close()
                        conn = None
                    deliver_all(loop, [(future, None, exc)])
                else:
                    deliver_all(loop, [(future, result, None)])
        finally:
            if conn is not None:
                conn.close()

    def _serve_writes(self) -> None:
        """The writer thread: one batch of writes at a time (see :meth:`write`)."""
        conn: Connection | None = None
        try:
            while (batch := self._writes.get()) is not None:
                # callers that stopped waiting before their write started: not run
                batch = [job for job in batch if not job[1].cancelled()]
                if not batch:
                    continue
                try:
                    if conn is None:
                        conn = self.engine.connect()
                    if len(batch) == 1:
                        outcomes = _write_alone(conn, batch[0])
                    else:
                        outcomes = _write_together(conn, batch)
                except BaseException as exc:
                    if conn is not None:  # a connection in doubt is not used again
                        with contextlib.suppress(Exception):
                            conn.close()
                        conn = None
                    outcomes = [(future, None, exc) for _, future, _ in batch]
                deliver_all(batch[0][2], outcomes)  # a batch is of one loop
        finally:
            if conn is not None:
                conn.close()

    def _job(self, fn: Callable[[Connection], T]) -> _Job:
        if self._disposed:
            raise RuntimeError("the store has been closed")
        if not self._threads:
            with self._starting:  # two loops' first operations at once: one start
                if not self._threads:
                    self._start()
        loop = asyncio.get_running_loop()
        return (fn, loop.create_future(), loop)

    async def read(self, fn: Callable[[Connection], T]) -> T:
        job = self._job(fn)
        self._reads.put(job)
        result: T = await job[1]
        return result

    async def lookup(self, fn: Callable[[Connection], T]) -> T:
        if self._disposed:
            raise RuntimeError("the store has been closed")
        if self._here_thread is None:
            self._here_thread = threading.get_ident()
        elif self._here_thread != threading.get_ident():
            return await self.read(fn)
        conn = self._here
        if conn is None:
            if self._opening is None:
                self._open_here_elsewhere()
            return await self.read(fn)  # same answer, from a reader thread, meanwhile
        try:
            result = fn(conn)
        except sa.exc.OperationalError as exc:
            if not _busy(exc):
                self._forget_here()
                raise
            conn.rollback()
            return await self.read(fn)  # a reader thread may wait for the lock
        except BaseException:
            self._forget_here()  # a connection in doubt is not used again
            raise
        conn.rollback()  # ends SQLAlchemy's transaction; sqlite3 began none for reads
        return result

    def _open_here_elsewhere(self) -> None:
        """Start opening the lookups' connection on a worker thread; :meth:`_opened` takes
        it on the loop."""
        try:
            opening = asyncio.get_running_loop().run_in_executor(None, self._open_quietly)
        except RuntimeError:  # the loop's executor is shut down: lookups stay reads
            return
        self._opening = opening
        opening.add_done_callback(self._opened)

    def _open_quietly(self) -> Connection | None:
        """On a worker thread: the lookups' connection, or None if it cannot be opened now
        (lookups stay reads, which will raise the error if it persists)."""
        try:
            return self._open_here()
        except Exception:
            log.debug("the lookups' connection could not be opened", exc_info=True)
            return None

    def _open_here(self) -> Connection:
        """On a worker thread: a connection for the loop's lookups, ready for them.

        It is used on another thread than the one that opened it: ``sqlite3`` allows that
        only without ``check_same_thread``, which :func:`.create_sqlite_engine` turns off
        for every connection of its pool (and SQLAlchemy does for any SQLite file), since
        the pool hands a connection to whichever thread checks it out; it is safe because
        one thread at a time uses a connection (this one: the worker until it returns
        it, then the loop alone)."""
        conn = self.engine.connect()
        try:
            driver = conn.connection.driver_connection
            assert driver is not None
            driver.execute("PRAGMA busy_timeout=0")  # "busy" at once, never a sleep on the loop
        except BaseException:
            conn.close()
            raise
        return conn

    def _opened(self, opening: asyncio.Future[Connection | None]) -> None:
        """On the loop, when the open in flight ends: lookups use the connection from now
        on, unless the store was closed meanwhile (then it is closed too)."""
        self._opening = None
        if opening.cancelled() or opening.exception() is not None:
            return  # nothing was handed over (_open_quietly catches the open's errors)
        conn = opening.result()
        if conn is None:
            return
        if self._disposed or self._here is not None:
            with contextlib.suppress(Exception):
                conn.close()
            return
        self._here = conn

    def _forget_here(self) -> None:
        if self._here is not None:
            with contextlib.suppress(Exception):
                self._here.close()
            self._here = None

    async def write(self, fn: Callable[[Connection], T]) -> T:
        """``fn`` in a transaction of its own, or, beside the other writes asked for in
        the same iteration of the event loop, in a savepoint of its own inside one
        transaction for them all (group commit): one commit, one wake-up of the writer
        thread and one of the loop for the batch, instead of one each per write. Each
        write still commits when it returns and rolls back when it raises (to its
        savepoint: the others commit), and answers once the transaction has committed;
        if the commit fails, every write of the batch raises its error. Under a login
        flood the hashing threads hand logins back in pairs (``issuer.passwords``), so
        their writes meet here and commit together."""
        job = self._job(fn)
        loop = job[2]
        batch = self._batch
        if batch is None or batch.sent or batch.loop is not loop:
            if batch is not None and not batch.sent and batch.loop.is_closed():
                self._send(batch)  # its loop closed before sending it: it runs now
            batch = self._batch = _Batch(loop)
            loop.call_soon(self._send, batch)  # once this iteration's callbacks have run
        batch.jobs.append(job)
        result: T = await job[1]
        return result

    def _send(self, batch: _Batch) -> None:
        """A batch to the writer thread, once (at the end of the loop iteration that
        began it, or when the store is closed)."""
        with self._sending:
            if batch.sent:
                return
            batch.sent = True
        self._writes.put(batch.jobs)

    async def dispose(self) -> None:
        """Finish the queued operations, close the connections (the lookups' one once an
        open in flight ends) and stop the threads (idempotent)."""
        if self._disposed:
            return
        self._disposed = True
        self._forget_here()
        if self._opening is not None:  # _opened closes what it opens (the store is closed)
            await asyncio.shield(self._opening)
        if self._batch is not None:  # a batch not yet sent to the writer still runs
            self._send(self._batch)
        if self._threads:
            self._writes.put(None)
            for _ in range(self._readers):
                self._reads.put(None)
            threads = self._threads

            def join() -> None:
                for thread in threads:
                    thread.join()

            await asyncio.to_thread(join)
        await asyncio.to_thread(self.engine.dispose)


_Job = tuple[Callable[[Connection], Any], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


class _Batch:
    """Writes asked for on one loop in one of its iterations. Each batch is sent by the
    callback its first write scheduled on that loop, so a batch is never lost when two
    loops (in two threads) write through one runner: each only ever appends to a batch
    of its own loop."""

    __slots__ = ("jobs", "loop", "sent")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.jobs: list[_Job] = []
        self.sent = False


def _write_alone(conn: Connection, job: _Job) -> list[Outcome]:
    """One write in its own transaction (the driver begins it before the first change);
    an error rolls it back and propagates (the connection is then dropped)."""
    fn, future, _ = job
    with conn.begin():  # committed when fn returns, else rolled back
        result = fn(conn)
    return [(future, result, None)]


def _write_together(conn: Connection, batch: list[_Job]) -> list[Outcome]:
    """Several writes in one transaction, each in a savepoint: a write that raises is
    rolled back to its savepoint and gets its error, the others commit. The write lock
    is taken at the start (``BEGIN IMMEDIATE``: a read-then-write inside the batch can
    then never find its snapshot stale because another process wrote meanwhile). An
    error outside the writes themselves (taking the lock, a savepoint, the commit)
    propagates: nothing was committed."""
    driver = conn.connection.driver_connection
    assert driver is not None
    outcomes: list[Outcome] = []
    with conn.begin():
        _execute(driver, "BEGIN IMMEDIATE")
        for fn, future, _ in batch:
            _execute(driver, "SAVEPOINT write")
            try:
                result = fn(conn)
            except BaseException as exc:  # handed to its caller
                _execute(driver, "ROLLBACK TO write")
                outcomes.append((future, None, exc))
            else:
                outcomes.append((future, result, None))
            _execute(driver, "RELEASE write")
    return outcomes


def _execute(driver: Any, statement: str) -> None:
    """``statement`` on the ``sqlite3`` connection, its errors raised as SQLAlchemy's
    (as a write alone would raise them)."""
    try:
        driver.execute(statement)
    except sqlite3.Error as exc:
        raise sa.exc.DBAPIError.instance(statement, None, exc, sqlite3.Error) from exc


def _busy(exc: sa.exc.OperationalError) -> bool:
    """SQLite could not take a lock at once (another connection holds it)."""
    code = getattr(exc.orig, "sqlite_errorcode", None)  # an extended code: its low byte
    return isinstance(code, int) and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


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

    async def lookup(self, fn: Callable[[Connection], T]) -> T:
        return await self.read(fn)

    async def write(self, fn: Callable[[Connection], T]) -> T:
        async def run() -> T:
            async with self.engine.begin() as conn:
                return await conn.run_sync(fn)

        return await _answered(run())

    async def dispose(self) -> None:
        await self.engine.dispose()

"""The SQLite runner's lookups: on the event loop's own connection, never waiting there for
a lock (a busy database sends the lookup to a reader thread), and a lookup from another
thread is an ordinary read. That connection is opened once, on a worker thread, never on
the loop: until it is open, lookups are reads."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from tokensmith.store.sql import engine as sql_engine
from tokensmith.store.sql.engine import create_sqlite_engine
from tokensmith.store.sql.runner import ThreadRunner

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _thread_of_count(conn: Connection) -> tuple[str, int]:
    count = conn.execute(sa.text("SELECT count(*) FROM users")).scalar_one()
    return threading.current_thread().name, int(count)


async def _lookups_come_back_to_the_loop(runner: ThreadRunner) -> int:
    """Look up until a lookup runs on the loop's own connection (opened meanwhile on a
    worker thread); the count it answered."""
    here = threading.current_thread().name
    for _ in range(300):
        name, count = await runner.lookup(_thread_of_count)
        if name == here:
            return count
        assert name.startswith("tokensmith-db-r")  # a read, while the connection opens
        await asyncio.sleep(0.01)
    raise AssertionError("the lookups' connection was never opened")


def _add_user(url: str) -> None:
    with sqlite3.connect(sa.make_url(url).database or "") as conn:
        conn.execute(
            "INSERT INTO users (id, username, username_key, password_hash, created_at, "
            "updated_at) VALUES ('u1', 'Ann', 'ann', 'x', 0, 0)"
        )
    conn.close()


def _lock_out(url: str) -> sqlite3.Connection:
    """Another connection to the file, holding it until it is closed. In WAL mode ``BEGIN
    EXCLUSIVE`` alone lets readers (and a new connection's pragmas) through; in exclusive
    locking mode it keeps every other connection from even opening the database."""
    holder = sqlite3.connect(sa.make_url(url).database or "", isolation_level=None)
    holder.execute("PRAGMA locking_mode=EXCLUSIVE")
    holder.execute("BEGIN EXCLUSIVE")
    return holder


def _count_opens(runner: ThreadRunner, gate: threading.Event) -> list[tuple[Connection, Any]]:
    """Replace ``runner``'s opener with its own, counted (each connection it opened, with
    its ``sqlite3`` connection, goes in the list returned) and held back until ``gate`` is
    set."""
    real = runner._open_here
    opened: list[tuple[Connection, Any]] = []

    def open_here() -> Connection:
        assert gate.wait(5)
        conn = real()
        opened.append((conn, conn.connection.driver_connection))
        return conn

    runner._open_here = open_here  # type: ignore[method-assign]
    return opened


async def test_a_lookup_runs_on_the_calling_thread(database: str) -> None:
    runner = ThreadRunner(create_sqlite_engine(database))
    try:
        here = threading.current_thread().name
        assert await _lookups_come_back_to_the_loop(runner) == 0
        assert await runner.lookup(_thread_of_count) == (here, 0)
        assert await runner.read(_thread_of_count) != (here, 0)  # a reader thread's
    finally:
        await runner.dispose()


async def test_a_busy_database_sends_the_lookup_to_a_reader_thread(database: str) -> None:
    """SQLite answers "busy" at once on the loop's connection (it has no busy timeout);
    the lookup then runs again on a reader thread, which may wait for the lock."""
    runner = ThreadRunner(create_sqlite_engine(database))
    loop_thread = threading.current_thread().name
    try:
        await _lookups_come_back_to_the_loop(runner)

        def busy_on_the_loop(conn: Connection) -> tuple[str, int]:
            if threading.current_thread().name == loop_thread:
                busy = sqlite3.OperationalError("database is locked")
                busy.sqlite_errorcode = sqlite3.SQLITE_BUSY  # type: ignore[attr-defined]
                raise sa.exc.OperationalError("SELECT", {}, busy)
            return _thread_of_count(conn)

        thread, count = await runner.lookup(busy_on_the_loop)
        assert thread.startswith("tokensmith-db-r")
        assert count == 0
        # the loop's connection was kept, and the next lookup uses it
        assert await runner.lookup(_thread_of_count) == (loop_thread, 0)
    finally:
        await runner.dispose()


async def test_a_lookup_from_another_thread_is_a_read(database: str) -> None:
    runner = ThreadRunner(create_sqlite_engine(database))
    try:
        assert await _lookups_come_back_to_the_loop(runner) == 0

        def elsewhere() -> tuple[str, int]:
            return asyncio.run(runner.lookup(_thread_of_count))

        name, _ = await asyncio.to_thread(elsewhere)
        assert name.startswith("tokensmith-db-r")
    finally:
        await runner.dispose()


async def test_a_failed_lookup_leaves_no_connection_in_doubt(database: str) -> None:
    """The connection is dropped, and opened again off the loop."""
    runner = ThreadRunner(create_sqlite_engine(database))
    gate = threading.Event()
    opened = _count_opens(runner, gate)
    gate.set()
    try:
        await _lookups_come_back_to_the_loop(runner)

        def broken(conn: Connection) -> None:
            conn.execute(sa.text("SELECT * FROM no_such_table"))

        with pytest.raises(sa.exc.OperationalError):
            await runner.lookup(broken)
        assert opened[0][0].closed
        assert await _lookups_come_back_to_the_loop(runner) == 0
        assert len(opened) == 2
    finally:
        await runner.dispose()


async def test_opening_the_lookups_connection_never_blocks_the_loop(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Opening a connection runs the engine's pragmas, which wait (up to the busy timeout)
    for another process's lock: on a worker thread, while the loop goes on."""
    # bounds the wait, should a connection ever be opened on the loop again
    monkeypatch.setattr(sql_engine, "SQLITE_BUSY_TIMEOUT_MS", 2_000)
    _add_user(database)
    runner = ThreadRunner(create_sqlite_engine(database))
    holder = _lock_out(database)
    try:
        lookups = [asyncio.create_task(runner.lookup(_thread_of_count)) for _ in range(3)]
        for _ in range(5):
            started = time.monotonic()
            await asyncio.sleep(0.01)
            assert time.monotonic() - started < 1.0, "the event loop stalled"
        holder.close()
        answers = await asyncio.gather(*lookups)
        assert [count for _, count in answers] == [1, 1, 1]
        assert all(name.startswith("tokensmith-db-r") for name, _ in answers)
        assert await _lookups_come_back_to_the_loop(runner) == 1
    finally:
        holder.close()
        await runner.dispose()


async def test_concurrent_first_lookups_open_one_connection(database: str) -> None:
    _add_user(database)
    runner = ThreadRunner(create_sqlite_engine(database))
    gate = threading.Event()
    opened = _count_opens(runner, gate)
    here = threading.current_thread().name
    try:
        meanwhile = await asyncio.gather(*(runner.lookup(_thread_of_count) for _ in range(20)))
        assert all(name.startswith("tokensmith-db-r") and count == 1 for name, count in meanwhile)
        gate.set()
        assert await _lookups_come_back_to_the_loop(runner) == 1
        after = await asyncio.gather(*(runner.lookup(_thread_of_count) for _ in range(20)))
        assert after == [(here, 1)] * 20
        assert len(opened) == 1
    finally:
        gate.set()
        await runner.dispose()


async def test_a_failed_open_leaves_lookups_to_readers_and_is_tried_again(database: str) -> None:
    runner = ThreadRunner(create_sqlite_engine(database))
    real = runner._open_here
    attempts: list[str] = []

    def open_here() -> Connection:
        attempts.append(threading.current_thread().name)
        if len(attempts) == 1:
            raise sqlite3.OperationalError("unable to open database file")
        return real()

    runner._open_here = open_here  # type: ignore[method-assign]
    here = threading.current_thread().name
    try:
        assert await _lookups_come_back_to_the_loop(runner) == 0
        assert len(attempts) == 2
        assert here not in attempts  # never opened on the loop
    finally:
        await runner.dispose()


async def test_dispose_during_the_open_closes_what_it_opens(database: str) -> None:
    runner = ThreadRunner(create_sqlite_engine(database))
    gate = threading.Event()
    opened = _count_opens(runner, gate)
    try:
        name, _ = await runner.lookup(_thread_of_count)  # starts the open, held at the gate
        assert name.startswith("tokensmith-db-r")
        closing = asyncio.create_task(runner.dispose())
        await asyncio.sleep(0.05)
        assert not closing.done()  # it waits for the open in flight
        gate.set()
        await asyncio.wait_for(closing, 5)
    finally:
        gate.set()
        await runner.dispose()
    [(conn, driver)] = opened
    assert conn.closed
    with pytest.raises(sqlite3.ProgrammingError):  # closed for good, not back in a pool
        driver.execute("SELECT 1")
    with pytest.raises(RuntimeError, match="closed"):
        await runner.lookup(_thread_of_count)

"""The SQLite runner's writes: those asked for in one iteration of the event loop commit in
one transaction (group commit), each in a savepoint of its own, so one that raises is
rolled back alone; writes of different iterations are transactions of their own. Real
SQLite files throughout; what another connection sees is the proof of what committed."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable

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


def _path(url: str) -> str:
    return sa.make_url(url).database or ""


def _committed_users(url: str) -> list[str]:
    """The usernames another connection sees (what has committed)."""
    with sqlite3.connect(_path(url)) as other:
        rows = other.execute("SELECT username FROM users ORDER BY username").fetchall()
    other.close()
    return [name for (name,) in rows]


def _insert(
    name: str, url: str, *, seen_by_others: list[list[str]] | None = None
) -> Callable[[Connection], str]:
    """A write adding user ``name``; with ``seen_by_others``, it first notes what another
    connection sees committed at that moment."""

    def write(conn: Connection) -> str:
        if seen_by_others is not None:
            seen_by_others.append(_committed_users(url))
        conn.execute(
            sa.text(
                "INSERT INTO users (id, username, username_key, password_hash, created_at, "
                "updated_at) VALUES (:id, :name, :name, 'x', 0, 0)"
            ),
            {"id": f"id-{name}", "name": name},
        )
        return name

    return write


async def test_writes_of_one_iteration_commit_together(database: str) -> None:
    runner = ThreadRunner(create_sqlite_engine(database))
    seen: list[list[str]] = []
    try:
        names = await asyncio.gather(
            *(runner.write(_insert(n, database, seen_by_others=seen)) for n in "abc")
        )
        assert names == ["a", "b", "c"]
        # inside the batch nobody else saw the earlier writes: one transaction
        assert seen == [[], [], []]
        assert _committed_users(database) == ["a", "b", "c"]
    finally:
        await runner.dispose()


async def test_writes_of_different_iterations_commit_one_by_one(database: str) -> None:
    runner = ThreadRunner(create_sqlite_engine(database))
    seen: list[list[str]] = []
    try:
        for name in "ab":
            assert await runner.write(_insert(name, database, seen_by_others=seen)) == name
        assert seen == [[], ["a"]]  # a had committed when b began
    finally:
        await runner.dispose()


async def test_a_write_that_raises_rolls_back_alone(database: str) -> None:
    """In a batch: a write that changes a row and then raises, and one whose statement
    fails in SQLite (a duplicate key), are rolled back to their savepoints and get their
    errors; the writes around them commit."""
    runner = ThreadRunner(create_sqlite_engine(database))

    def half_then_raise(conn: Connection) -> None:
        _insert("half", database)(conn)
        raise ValueError("changed my mind")

    def duplicate(conn: Connection) -> None:
        _insert("dup", database)(conn)
        _insert("dup", database)(conn)  # the same primary key again

    try:
        first, failing, duplicated, last = await asyncio.gather(
            runner.write(_insert("a", database)),
            runner.write(half_then_raise),
            runner.write(duplicate),
            runner.write(_insert("z", database)),
            return_exceptions=True,
        )
        assert (first, last) == ("a", "z")
        assert isinstance(failing, ValueError)
        assert isinstance(duplicated, sa.exc.IntegrityError)
        assert _committed_users(database) == ["a", "z"]
        # and the writer goes on as before
        assert await runner.write(_insert("later", database)) == "later"
        assert _committed_users(database) == ["a", "later", "z"]
    finally:
        await runner.dispose()


async def test_a_batch_that_cannot_take_the_lock_fails_whole_and_the_next_one_works(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the write lock past the busy timeout: every write of the
    batch gets the error and nothing is half-written; once the lock is free, writes work
    again (on a new connection)."""
    monkeypatch.setattr(sql_engine, "SQLITE_BUSY_TIMEOUT_MS", 300)
    runner = ThreadRunner(create_sqlite_engine(database))
    try:
        assert await runner.write(_insert("before", database)) == "before"  # opened
        holder = sqlite3.connect(_path(database), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            outcomes = await asyncio.gather(
                runner.write(_insert("a", database)),
                runner.write(_insert("b", database)),
                return_exceptions=True,
            )
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert all(isinstance(o, sa.exc.OperationalError) for o in outcomes), outcomes
        assert all("locked" in str(o) for o in outcomes)
        assert _committed_users(database) == ["before"]
        after = await asyncio.gather(
            runner.write(_insert("c", database)), runner.write(_insert("d", database))
        )
        assert list(after) == ["c", "d"]
        assert _committed_users(database) == ["before", "c", "d"]
    finally:
        await runner.dispose()


async def test_a_batch_asked_for_just_before_dispose_still_runs(database: str) -> None:
    runner = ThreadRunner(create_sqlite_engine(database))
    writes = [asyncio.ensure_future(runner.write(_insert(n, database))) for n in "ab"]
    await asyncio.sleep(0)  # both writes are in the batch, not yet handed to the writer
    await runner.dispose()
    assert await asyncio.gather(*writes) == ["a", "b"]
    assert _committed_users(database) == ["a", "b"]


async def test_a_batch_of_another_loop_is_not_mixed_in(database: str) -> None:
    """A runner used from a second loop (in another thread) while this loop's batch is
    open: that loop's write goes in a batch of its own, answered on its own loop, and
    this loop's batch still commits."""
    runner = ThreadRunner(create_sqlite_engine(database))
    try:
        mine = asyncio.ensure_future(runner.write(_insert("mine", database)))
        await asyncio.sleep(0)  # the write has opened this loop's batch; not yet sent
        assert runner._batch is not None
        assert not runner._batch.sent
        other = await asyncio.to_thread(asyncio.run, runner.write(_insert("other", database)))
        assert other == "other"
        assert await mine == "mine"
        assert _committed_users(database) == ["mine", "other"]
    finally:
        await runner.dispose()


async def test_two_loops_writing_at_once_lose_no_write(database: str) -> None:
    """Two loops in two threads write through one runner at the same time, in batches
    of three: every write commits and every caller gets its answer."""
    runner = ThreadRunner(create_sqlite_engine(database))

    async def writes(prefix: str) -> list[str]:
        done: list[str] = []
        for i in range(40):
            names = [f"{prefix}{i:02d}{n}" for n in "abc"]
            done += await asyncio.gather(*(runner.write(_insert(n, database)) for n in names))
        return done

    try:
        theirs = asyncio.to_thread(asyncio.run, writes("t"))
        mine, theirs_done = await asyncio.gather(writes("m"), theirs)
        assert len(mine) == len(theirs_done) == 120
        assert _committed_users(database) == sorted(mine + theirs_done)
    finally:
        await runner.dispose()


async def test_first_operations_from_two_threads_start_one_writer(database: str) -> None:
    """Threads whose first operations come at the same moment start the runner's threads
    once: one writer (and dispose then stops every thread it started)."""
    runner = ThreadRunner(create_sqlite_engine(database), readers=1)
    real_start = runner._start

    def slow_start() -> None:  # widens the moment between the check and the start
        time.sleep(0.05)
        real_start()

    runner._start = slow_start  # type: ignore[method-assign]
    before = set(threading.enumerate())
    names = [f"u{i}" for i in range(4)]
    gate = threading.Barrier(len(names))
    done: list[str] = []

    def first_write(name: str) -> None:
        gate.wait(5)
        done.append(asyncio.run(runner.write(_insert(name, database))))

    threads = [threading.Thread(target=first_write, args=(n,)) for n in names]
    started: set[threading.Thread] = set()
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            await asyncio.to_thread(thread.join, 10)
        assert sorted(done) == names
        started = set(threading.enumerate()) - before - set(threads)
        writers = [t for t in started if t.name == "tokensmith-db-w"]
        assert writers == [t for t in runner._threads if t.name == "tokensmith-db-w"]
    finally:
        for extra in started - set(runner._threads):  # a second start's threads: stopped
            queue = runner._writes if extra.name == "tokensmith-db-w" else runner._reads
            queue.put(None)
        await runner.dispose()
    assert not any(t.is_alive() for t in runner._threads)

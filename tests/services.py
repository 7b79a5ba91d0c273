"""Test access to the machine's services (PostgreSQL, Redis) on 127.0.0.1.

Fixtures that use these helpers live next to their tests (``tests/contract/conftest.py``
and friends), not in the root conftest.

- :func:`postgres_database` creates a uniquely named PostgreSQL database for one test
  session (named by pytest-xdist worker id plus a random suffix, so ``-n 2`` never
  collides) and drops it afterwards.
- :func:`redis_url` gives a Redis URL after checking the server answers;
  :func:`redis_prefix` a key prefix no other test uses, and :func:`delete_prefix` removes
  that prefix's keys afterwards (SCAN + DEL: never FLUSHDB on the shared server).

When a service does not answer, the test is skipped with a message that says which and
where, unless ``TOKENSMITH_REQUIRE_SERVICES=1``, in which case it fails.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import secrets
import socket
from collections.abc import Iterator
from typing import Any

import pytest

PG_HOST = os.environ.get("TOKENSMITH_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("TOKENSMITH_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("TOKENSMITH_TEST_PG_USER", "postgres")
REDIS_HOST = os.environ.get("TOKENSMITH_TEST_REDIS_HOST", "127.0.0.1")
REDIS_PORT = int(os.environ.get("TOKENSMITH_TEST_REDIS_PORT", "6379"))


def services_required() -> bool:
    return os.environ.get("TOKENSMITH_REQUIRE_SERVICES", "") == "1"


def unavailable(message: str) -> None:
    """Skip (or fail, when services are required) with ``message``."""
    if services_required():
        pytest.fail(message + " (TOKENSMITH_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


def _port_open(host: str, port: int) -> str | None:
    try:
        with socket.create_connection((host, port), timeout=2):
            return None
    except OSError as exc:
        return str(exc)


def worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def postgres_url(database: str = "postgres") -> str:
    return f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{database}"


def _run(coro: Any) -> Any:
    """``asyncio.run`` that also works where an event loop is already running in this
    thread (a test that holds one, e.g. Playwright's sync API): then on a helper thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


async def _admin(statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(
        host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres", timeout=5
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.contextmanager
def postgres_database(prefix: str = "tokensmith_test") -> Iterator[str]:
    """A fresh PostgreSQL database for the duration of the block; yields its URL."""
    problem = _port_open(PG_HOST, PG_PORT)
    if problem is not None:
        unavailable(f"PostgreSQL not reachable on {PG_HOST}:{PG_PORT}: {problem}")
    name = f"{prefix}_{worker_id()}_{secrets.token_hex(4)}".lower()
    try:
        _run(_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # a server that answers but refuses us
        unavailable(f"PostgreSQL on {PG_HOST}:{PG_PORT} refused CREATE DATABASE: {exc}")
    try:
        yield postgres_url(name)
    finally:
        with contextlib.suppress(Exception):
            _run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def redis_url(db: int = 0) -> str:
    """The Redis URL, after checking the server answers (else skip/fail)."""
    problem = _port_open(REDIS_HOST, REDIS_PORT)
    if problem is not None:
        unavailable(f"Redis not reachable on {REDIS_HOST}:{REDIS_PORT}: {problem}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/{db}"


def redis_prefix() -> str:
    """A key prefix no other test (or session) uses."""
    return f"tokensmith-test:{worker_id()}:{secrets.token_hex(6)}:"


async def delete_prefix(url: str, prefix: str) -> None:
    """Delete the keys under ``prefix`` (never FLUSHDB: the server is shared)."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        batch = [key async for key in client.scan_iter(match=prefix + "*", count=500)]
        if batch:
            await client.delete(*batch)
    finally:
        await client.aclose()

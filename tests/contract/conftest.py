"""Backends for the contract suite: memory, SQLite (a real file), PostgreSQL (the
machine's server; one fresh database per test session, emptied between tests) and
``redis``: memory with the Redis rate limiter, replay cache and notices (the machine's
Redis, every key under a prefix of its own per test, deleted afterwards — never FLUSHDB)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from services import delete_prefix, postgres_database, redis_prefix, redis_url
from tokensmith.store import Stores, memory_stores, open_stores, with_redis
from tokensmith.store.sql.schema import metadata

BACKENDS = ("memory", "sqlite", "postgres", "redis")


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    with postgres_database("tokensmith_contract") as url:
        # migrate once per session; tests only empty the tables
        async def prepare() -> None:
            stores = await open_stores(url)
            await stores.close()

        asyncio.run(prepare())
        yield url


async def _empty_postgres(url: str) -> None:
    from tokensmith.store.sql import create_engine

    engine = create_engine(url)
    try:
        names = ", ".join(t.name for t in metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str | None:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'tokensmith.db'}"
    if backend == "postgres":
        return str(request.getfixturevalue("postgres_url"))
    return None


@pytest.fixture
async def stores(backend: str, database_url: str | None) -> AsyncIterator[Stores]:
    if backend == "redis":
        url, prefix = redis_url(), redis_prefix()
        built = await with_redis(memory_stores(), url, prefix=prefix)
        try:
            yield built
        finally:
            await built.close()
            await delete_prefix(url, prefix)
        return
    if database_url is None:
        built = memory_stores()
    else:
        if backend == "postgres":
            await _empty_postgres(database_url)
        built = await open_stores(database_url)
    try:
        yield built
    finally:
        await built.close()

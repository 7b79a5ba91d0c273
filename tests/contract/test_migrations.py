"""The Alembic migrations build exactly the schema the code uses, on SQLite and PostgreSQL,
and applying them again is a no-op."""

from __future__ import annotations

from typing import Any

import pytest

from tokensmith.store import Stores, open_stores
from tokensmith.store.sql import create_engine
from tokensmith.store.sql.engine import current_revision
from tokensmith.store.sql.schema import metadata

pytestmark = pytest.mark.anyio


@pytest.fixture(params=("sqlite", "postgres"))
def backend(request: pytest.FixtureRequest) -> str:
    """Only the SQL backends have a schema."""
    return str(request.param)


def _diff(connection: Any) -> list[Any]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    context = MigrationContext.configure(connection, opts={"compare_type": False})
    return list(compare_metadata(context, metadata))


async def test_migrated_database_matches_schema(
    backend: str, database_url: str | None, stores: Stores
) -> None:
    assert database_url is not None
    # a second open re-runs the migrations: nothing to do, nothing breaks
    again = await open_stores(database_url)
    await again.close()
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(_diff)
            revision = await conn.run_sync(current_revision)
    finally:
        await engine.dispose()
    assert diff == []
    assert revision == "0004"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_sqlite_runs_in_wal_mode(
    backend: str, database_url: str | None, stores: Stores
) -> None:
    assert database_url is not None
    import sqlalchemy as sa

    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            mode = (await conn.execute(sa.text("PRAGMA journal_mode"))).scalar()
            timeout = (await conn.execute(sa.text("PRAGMA busy_timeout"))).scalar()
            fks = (await conn.execute(sa.text("PRAGMA foreign_keys"))).scalar()
    finally:
        await engine.dispose()
    assert (mode, fks) == ("wal", 1)
    assert timeout is not None
    assert int(timeout) >= 1000


async def test_closing_stores_twice_is_harmless(database_url: str | None, stores: Stores) -> None:
    assert database_url is not None
    extra = await open_stores(database_url)
    await extra.close()
    await extra.close()

"""Migration 0004: key rows written under schema 0003 with the algorithm in the state
column (``next:EdDSA``, the interim spelling) get their plain state back, and afterwards
each algorithm has its own one ``next`` and one ``current``; on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services import postgres_database
from tokensmith.store import open_stores
from tokensmith.store.sql import create_engine
from tokensmith.store.sql.engine import _alembic_config, current_revision
from tokensmith.store.sql.schema import signing_keys

from .test_store_contract import T0, key

pytestmark = pytest.mark.anyio


@pytest.fixture(params=("sqlite", "postgres"))
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database no migration has touched yet."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'keys.db'}"
        return
    with postgres_database("tokensmith_keys") as url:
        yield url


def _upgrade_to(revision: str) -> Any:
    from alembic import command

    def run(conn: sa.Connection) -> None:
        command.upgrade(_alembic_config(conn), revision)

    return run


async def _at_0003_with_interim_rows(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade_to("0003"))
            assert await conn.run_sync(current_revision) == "0003"
            for kid, alg, state in (
                ("e1", "ES256", "current:ES256"),
                ("e2", "ES256", "next:ES256"),
                ("d1", "EdDSA", "current:EdDSA"),
                ("e0", "ES256", "previous"),
            ):
                record = key(kid, state.split(":")[0], alg=alg)
                values = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
                await conn.execute(signing_keys.insert().values(**{**values, "state": state}))
    finally:
        await engine.dispose()


async def _stored_states(url: str) -> dict[str, str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(sa.select(signing_keys.c.kid, signing_keys.c.state))
            return {row.kid: row.state for row in rows}
    finally:
        await engine.dispose()


async def test_interim_rows_get_plain_states_and_each_alg_its_own_lifecycle(
    fresh_url: str,
) -> None:
    database_url = fresh_url
    await _at_0003_with_interim_rows(database_url)
    stores = await open_stores(database_url)  # applies 0004
    try:
        assert await _stored_states(database_url) == {
            "e1": "current",
            "e2": "next",
            "d1": "current",
            "e0": "previous",
        }
        listed = {k.kid: (k.alg, k.state) for k in await stores.keys.list()}
        assert listed["d1"] == ("EdDSA", "current")
        # one next and one current per algorithm
        assert not await stores.keys.add(key("e3", "next", at=T0 + 1))
        assert await stores.keys.add(key("d2", "next", at=T0 + 1, alg="EdDSA"))
        assert not await stores.keys.add(key("d3", "next", at=T0 + 1, alg="EdDSA"))
        assert not await stores.keys.promote(
            next_kid="e2", current_kid=None, now=T0 + 2, publish_until=T0 + 2
        )
        assert await stores.keys.promote(
            next_kid="e2", current_kid="e1", now=T0 + 2, publish_until=T0 + 900
        )
        states = {k.kid: k.state for k in await stores.keys.list()}
        assert states == {
            "e0": "retired",
            "e1": "previous",
            "e2": "current",
            "d1": "current",
            "d2": "next",
        }
    finally:
        await stores.close()

"""SQL key rows written before per-algorithm lifecycles (a plain ``next``/``current``
state) read and move like the new ones (``next:ALG``), on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tokensmith.store import Stores
from tokensmith.store.sql import create_engine
from tokensmith.store.sql.schema import signing_keys

from .test_store_contract import T0, key

pytestmark = pytest.mark.anyio


@pytest.fixture(params=("sqlite", "postgres"))
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def _insert_plain(url: str, *rows: tuple[str, str]) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for kid, state in rows:
                record = key(kid, state)
                await conn.execute(
                    signing_keys.insert().values(
                        kid=kid,
                        alg=record.alg,
                        state=state,
                        private_jwk=record.private_jwk,
                        public_jwk=record.public_jwk,
                        created_at=record.created_at,
                        activated_at=record.activated_at,
                    )
                )
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


async def test_rows_of_the_old_form_keep_working(database_url: str, stores: Stores) -> None:
    await _insert_plain(database_url, ("k1", "current"), ("k2", "next"))
    listed = {k.kid: k.state for k in await stores.keys.list()}
    assert listed == {"k1": "current", "k2": "next"}
    # still one next and one current of ES256
    assert not await stores.keys.add(key("k3", "next", at=T0 + 1))
    assert not await stores.keys.add(key("k4", "current", at=T0 + 1))
    assert not await stores.keys.promote(
        next_kid="k2", current_kid=None, now=T0 + 2, publish_until=T0 + 2
    )
    assert await stores.keys.promote(
        next_kid="k2", current_kid="k1", now=T0 + 2, publish_until=T0 + 900
    )
    assert await stores.keys.add(key("k5", "next", at=T0 + 3))
    got = {k.kid: k.state for k in await stores.keys.list()}
    assert got == {"k1": "previous", "k2": "current", "k5": "next"}
    assert await stores.keys.retire("k5", now=T0 + 4, publish_until=T0 + 4)
    # new rows carry their algorithm in the state column
    assert (await _stored_states(database_url))["k2"] == "current:ES256"

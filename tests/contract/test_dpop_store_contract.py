"""Contract of the DPoP binding in the stores (RFC 9449, issue 9) on memory, SQLite and
PostgreSQL: a session keeps the key it is bound to, binding happens once, a client keeps
its DPoP mode, and proof ``jti`` values live in the ``dpop:`` namespace of the replay
store."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from tokensmith.store import ClientRecord, Stores

from .test_store_contract import T0, session, token, user

pytestmark = pytest.mark.anyio

JKT_A = "A" * 43
JKT_B = "B" * 43


async def test_session_bound_at_creation_round_trips(stores: Stores) -> None:
    await stores.users.create(user())
    bound = dataclasses.replace(session(), dpop_jkt=JKT_A)
    await stores.sessions.create(bound, first_token=token("a"))
    assert await stores.sessions.get("sess-1") == bound
    # binding again never replaces the key
    assert await stores.sessions.bind_dpop("sess-1", JKT_B) == JKT_A
    got = await stores.sessions.get("sess-1")
    assert got is not None
    assert got.dpop_jkt == JKT_A


async def test_unbound_session_binds_once(stores: Stores) -> None:
    await stores.users.create(user())
    await stores.sessions.create(session(), first_token=token("a"))
    got = await stores.sessions.get("sess-1")
    assert got is not None
    assert got.dpop_jkt is None
    assert await stores.sessions.bind_dpop("sess-1", JKT_A) == JKT_A
    assert await stores.sessions.bind_dpop("sess-1", JKT_B) == JKT_A
    got = await stores.sessions.get("sess-1")
    assert got is not None
    assert got.dpop_jkt == JKT_A
    assert await stores.sessions.bind_dpop("sess-unknown", JKT_A) is None


async def test_concurrent_binds_agree_on_one_key(stores: Stores) -> None:
    await stores.users.create(user())
    await stores.sessions.create(session(), first_token=token("a"))
    keys = [chr(ord("a") + i) * 43 for i in range(10)]
    results = await asyncio.gather(*(stores.sessions.bind_dpop("sess-1", k) for k in keys))
    got = await stores.sessions.get("sess-1")
    assert got is not None
    assert got.dpop_jkt in keys
    assert set(results) == {got.dpop_jkt}


async def test_bound_session_listed_with_its_key(stores: Stores) -> None:
    await stores.users.create(user())
    await stores.sessions.create(dataclasses.replace(session(), dpop_jkt=JKT_A))
    listed = await stores.sessions.list_for_user("user-1", now=T0)
    assert [s.dpop_jkt for s in listed] == [JKT_A]


@pytest.mark.parametrize("mode", ["required", "optional", "off"])
async def test_client_dpop_mode_round_trips(stores: Stores, mode: str) -> None:
    client = ClientRecord(
        client_id="svc",
        name="svc",
        auth_method="client_secret_basic",
        created_at=1.0,
        updated_at=1.0,
        secret_hash="a" * 64,
        dpop=mode,  # type: ignore[arg-type]
    )
    await stores.clients.create(client)
    assert await stores.clients.get("svc") == client
    assert [c.dpop for c in await stores.clients.list()] == [mode]


async def test_client_dpop_mode_defaults_to_optional(stores: Stores) -> None:
    client = ClientRecord(
        client_id="spa", name="spa", auth_method="none", created_at=1.0, updated_at=1.0
    )
    await stores.clients.create(client)
    loaded = await stores.clients.get("spa")
    assert loaded is not None
    assert loaded.dpop == "optional"


async def test_dpop_proof_jti_namespace_used_once(stores: Stores) -> None:
    key = "dpop:" + "f" * 59
    assert len(key) == 64
    assert await stores.assertion_replays.use(key, expires_at=T0 + 60, now=T0)
    assert not await stores.assertion_replays.use(key, expires_at=T0 + 60, now=T0 + 1)
    # the same digest without the namespace is another key (client assertions)
    assert await stores.assertion_replays.use("f" * 64, expires_at=T0 + 60, now=T0 + 1)
    assert await stores.assertion_replays.use(key, expires_at=T0 + 200, now=T0 + 61)

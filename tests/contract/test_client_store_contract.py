"""Contract of ClientStore and AssertionReplayStore (issue 6) on memory, SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from tokensmith.store import ClientRecord, DuplicateError, Stores

pytestmark = pytest.mark.anyio


def _client(client_id: str = "svc-a", created_at: float = 100.0) -> ClientRecord:
    return ClientRecord(
        client_id=client_id,
        name=f"service {client_id}",
        auth_method="client_secret_basic",
        created_at=created_at,
        updated_at=created_at,
        secret_hash="a" * 64,
        grant_types=("client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"),
        scopes=("orders:read", "orders:write"),
        audiences=("https://orders.example", "svc-b"),
        access_ttl=300,
        signing_alg="ES256",
        cookie_mode=True,
        jwks='{"keys": []}',
        jwks_uri="https://a.example/jwks.json",
    )


async def test_client_round_trips_every_field(stores: Stores) -> None:
    client = _client()
    await stores.clients.create(client)
    assert await stores.clients.get("svc-a") == client
    assert await stores.clients.get("svc-x") is None


async def test_client_duplicate_id_refused(stores: Stores) -> None:
    await stores.clients.create(_client())
    with pytest.raises(DuplicateError):
        await stores.clients.create(_client())


async def test_public_client_without_optional_fields_round_trips(stores: Stores) -> None:
    client = ClientRecord(
        client_id="spa", name="spa", auth_method="none", created_at=1.0, updated_at=1.0
    )
    await stores.clients.create(client)
    loaded = await stores.clients.get("spa")
    assert loaded == client
    assert loaded is not None
    assert loaded.public
    assert not loaded.disabled


async def test_clients_listed_in_creation_order_with_paging(stores: Stores) -> None:
    for i, name in enumerate(["c3", "c1", "c2"]):
        await stores.clients.create(_client(name, created_at=10.0 + i))
    listed = [c.client_id for c in await stores.clients.list()]
    assert listed == ["c3", "c1", "c2"]
    assert [c.client_id for c in await stores.clients.list(limit=1, offset=1)] == ["c1"]


async def test_client_secret_replaced_and_disabled_and_enabled(stores: Stores) -> None:
    await stores.clients.create(_client())
    assert await stores.clients.set_secret("svc-a", "b" * 64, now=200.0)
    assert not await stores.clients.set_secret("nobody", "b" * 64, now=200.0)
    loaded = await stores.clients.get("svc-a")
    assert loaded == dataclasses.replace(_client(), secret_hash="b" * 64, updated_at=200.0)
    assert await stores.clients.set_disabled("svc-a", 300.0, now=300.0)
    loaded = await stores.clients.get("svc-a")
    assert loaded is not None
    assert loaded.disabled_at == 300.0
    assert loaded.disabled
    assert await stores.clients.set_disabled("svc-a", None, now=301.0)
    loaded = await stores.clients.get("svc-a")
    assert loaded is not None
    assert not loaded.disabled


async def test_assertion_jti_used_once_until_it_expires(stores: Stores) -> None:
    replays = stores.assertion_replays
    assert await replays.use("k1", expires_at=160.0, now=100.0)
    assert not await replays.use("k1", expires_at=170.0, now=120.0)
    assert await replays.use("k2", expires_at=160.0, now=120.0)
    # after expiry the value may be recorded again (the assertion's exp refuses it anyway)
    assert await replays.use("k1", expires_at=260.0, now=200.0)
    assert not await replays.use("k1", expires_at=260.0, now=201.0)


async def test_assertion_jti_purge_forgets_only_expired(stores: Stores) -> None:
    replays = stores.assertion_replays
    await replays.use("old", expires_at=50.0, now=10.0)
    await replays.use("new", expires_at=500.0, now=10.0)
    assert await replays.purge(now=100.0) == 1
    assert not await replays.use("new", expires_at=600.0, now=101.0)


async def test_concurrent_uses_of_one_jti_have_one_winner(stores: Stores) -> None:
    results = await asyncio.gather(
        *(stores.assertion_replays.use("same", expires_at=500.0, now=100.0) for _ in range(20))
    )
    assert results.count(True) == 1

"""Issuer fixtures: memory stores, a fixed clock, a counting fast hasher."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from contract.support import MASTER_KEY, CountingHasher, FakeClock, make_config
from tokensmith.issuer import Issuer, IssuerConfig
from tokensmith.server.remote_keys import HttpRemoteKeySets
from tokensmith.store import Stores, memory_stores


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def hasher() -> CountingHasher:
    return CountingHasher()


@pytest.fixture
def config() -> IssuerConfig:
    return make_config()


@pytest.fixture
def stores() -> Stores:
    return memory_stores()


@pytest.fixture
async def issuer(
    config: IssuerConfig, stores: Stores, clock: FakeClock, hasher: CountingHasher
) -> AsyncIterator[Issuer]:
    # the fetcher `tokensmith serve` gives the issuer (it connects only when fetching)
    built = await Issuer.open(
        config,
        stores,
        master_key=MASTER_KEY,
        clock=clock,
        hasher=hasher,
        remote_keys=HttpRemoteKeySets(),
    )
    try:
        yield built
    finally:
        await built.close()

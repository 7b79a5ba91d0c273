"""Revocations and keys over the store's notices (the logic; Redis itself is tested in
tests/contract and tests/integration): two issuers share memory stores and a bus that
delivers every notice to the other one, as Redis pub/sub does between processes."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator

import pytest

from contract.support import MASTER_KEY, CountingHasher, FakeClock, make_config
from tokensmith.issuer import Issuer
from tokensmith.issuer.keys import KeyRing
from tokensmith.issuer.revocation import Revocations
from tokensmith.store import KeyRecord, NoticeHandler, RevocationRecord, Stores, memory_stores
from tokensmith.store.memory import MemoryKeyStore, MemoryRevocationStore
from tokensmith.store.records import RevocationKind

pytestmark = pytest.mark.anyio


class Bus:
    def __init__(self) -> None:
        self.members: list[BusNotices] = []


class BusNotices:
    """Delivers each notice to the handlers of every *other* member, in order."""

    def __init__(self, bus: Bus, *, live: bool = True) -> None:
        self.bus = bus
        self.live = live
        self.handlers: dict[str, list[NoticeHandler]] = {}
        self.published: list[tuple[str, str]] = []
        bus.members.append(self)

    async def publish(self, topic: str, data: str) -> None:
        self.published.append((topic, data))
        for member in self.bus.members:
            if member is not self and member.live:
                for handler in member.handlers.get(topic, []):
                    await handler(data)

    def subscribe(self, topic: str, handler: NoticeHandler) -> None:
        self.handlers.setdefault(topic, []).append(handler)

    async def reconnected(self) -> None:
        for handlers in self.handlers.values():
            for handler in handlers:
                await handler(None)


class CountingRevocations(MemoryRevocationStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    async def after(
        self, after_id: int | None, *, now: float, limit: int = 500
    ) -> list[RevocationRecord]:
        self.reads += 1
        return await super().after(after_id, now=now, limit=limit)


async def _add(revocations: Revocations, kind: RevocationKind, value: str) -> None:
    await revocations.add(kind, value, expires_at=FakeClock().now + 600)


# ---- revocations --------------------------------------------------------------------------


async def test_a_revocation_announced_by_another_process_is_denied_without_polling() -> None:
    store, bus, clock = CountingRevocations(), Bus(), FakeClock()
    a = Revocations(store, clock=clock, notices=BusNotices(bus))
    b = Revocations(store, clock=clock, notices=BusNotices(bus))
    await b.sync()
    await _add(a, "jti", "stolen")  # B's handler reads the store once, on the notice
    reads = store.reads
    assert await b.denies({"jti": "stolen"}) == "jti"
    assert await b.denies({"jti": "other"}) is None
    assert store.reads == reads  # fresh and nothing announced: no read per check


async def test_without_live_notices_every_check_reads_the_store() -> None:
    store, clock = CountingRevocations(), FakeClock()
    for notices in (None, BusNotices(Bus(), live=False)):
        checker = Revocations(store, clock=clock, notices=notices)
        reads = store.reads
        await checker.denies({"jti": "x"})
        await checker.denies({"jti": "y"})
        assert store.reads == reads + 2


async def test_a_notice_for_an_entry_not_yet_read_makes_the_next_check_read() -> None:
    store, bus, clock = CountingRevocations(), Bus(), FakeClock()
    b = Revocations(store, clock=clock, notices=BusNotices(bus))
    await b.sync()
    # another process wrote entry 1 and announced it; B's handler has not run yet
    await store.add("sid", "s1", now=clock.now, expires_at=clock.now + 600)
    b._announced = 1
    assert await b.denies({"sid": "s1"}) == "sid"


async def test_a_lost_notice_is_caught_up_when_the_subscription_returns() -> None:
    store, bus, clock = CountingRevocations(), Bus(), FakeClock()
    a = Revocations(store, clock=clock, notices=BusNotices(bus))
    b_notices = BusNotices(bus, live=False)  # B's subscription is down
    b = Revocations(store, clock=clock, notices=b_notices)
    await b.sync()
    await _add(a, "jti", "during-outage")  # the notice never reaches B
    b_notices.live = True
    await b_notices.reconnected()  # handlers get None: catch up from the store
    reads = store.reads
    assert await b.denies({"jti": "during-outage"}) == "jti"
    assert store.reads == reads


async def test_a_feed_waiting_in_another_process_wakes_with_the_revocation() -> None:
    store, bus, clock = CountingRevocations(), Bus(), FakeClock()
    a = Revocations(store, clock=clock, notices=BusNotices(bus))
    b = Revocations(store, clock=clock, notices=BusNotices(bus))
    waiting = asyncio.create_task(b.wait(after=0, timeout=30))
    await asyncio.sleep(0)  # the waiter has read the (empty) store and waits
    await _add(a, "jti", "streamed")
    events = await waiting
    assert [e.value for e in events] == ["streamed"]


async def test_malformed_revocation_notices_are_ignored() -> None:
    store, bus, clock = CountingRevocations(), Bus(), FakeClock()
    b_notices = BusNotices(bus)
    Revocations(store, clock=clock, notices=b_notices)
    reads = store.reads
    for handler in b_notices.handlers["revocation"]:
        await handler("not-a-number")
    assert store.reads == reads


# ---- keys ---------------------------------------------------------------------------------


@pytest.fixture
async def two_issuers() -> AsyncIterator[tuple[Issuer, Issuer, BusNotices]]:
    bus, clock, shared = Bus(), FakeClock(), memory_stores()
    a_notices, b_notices = BusNotices(bus), BusNotices(bus)
    a_stores: Stores = dataclasses.replace(shared, notices=a_notices)
    b_stores: Stores = dataclasses.replace(shared, notices=b_notices)
    config = make_config()
    a = await Issuer.open(
        config, a_stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
    )
    b = await Issuer.open(
        config, b_stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
    )
    yield a, b, a_notices
    await a.close()
    await b.close()


async def test_a_rotation_at_one_issuer_is_served_and_used_by_the_other_at_once(
    two_issuers: tuple[Issuer, Issuer, BusNotices],
) -> None:
    a, b, a_notices = two_issuers
    assert a.jwks() == b.jwks()
    rotated = await a.rotate_keys(force=True)
    assert ("keys", "") in a_notices.published
    assert a.jwks() == b.jwks()
    assert b._keys.signing_key.kid == rotated.kid  # B signs with the promoted key


async def test_a_retired_key_is_unpublished_by_the_other_issuer_at_once(
    two_issuers: tuple[Issuer, Issuer, BusNotices],
) -> None:
    a, b, _ = two_issuers
    nxt = next(k for k in await a.list_keys() if k.state == "next")
    await a.retire_key(kid=nxt.kid)
    assert nxt.kid not in {k["kid"] for k in b.jwks()["keys"]}
    assert a.jwks() == b.jwks()


class PausedKeyStore(MemoryKeyStore):
    """``list()`` waits for ``gate`` when it is set (a slow read)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate: asyncio.Event | None = None

    async def list(self) -> list[KeyRecord]:
        snapshot = await super().list()
        if self.gate is not None:
            gate, self.gate = self.gate, None
            await gate.wait()
        return snapshot


async def test_an_older_key_load_finishing_last_does_not_undo_a_newer_one() -> None:
    store, clock = PausedKeyStore(), FakeClock()
    ring = KeyRing(store, config=make_config(), master_key=MASTER_KEY, clock=clock)
    await ring.maintain()
    before = {k.record.kid for k in ring.loaded}
    store.gate = gate = asyncio.Event()
    slow = asyncio.create_task(ring.load())  # reads the old key set, then stalls
    await asyncio.sleep(0)
    other = KeyRing(store, config=make_config(), master_key=MASTER_KEY, clock=clock)
    await other.rotate(force=True)  # another process changes the keys
    await ring.load()  # the notice's load sees the change
    gate.set()
    await slow
    after = {k.record.kid for k in ring.loaded}
    assert after != before
    assert after == {k.record.kid for k in other.loaded}

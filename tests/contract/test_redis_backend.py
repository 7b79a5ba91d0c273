"""What only the Redis backend promises (the machine's Redis; every key under a prefix of
the test's own): processes sharing a prefix count and remember together, atomically;
other prefixes are other deployments; hostile key parts stay small and distinct; notices
reach the other processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from services import delete_prefix, redis_prefix, redis_url
from tokensmith.store import Stores, memory_stores, with_redis
from tokensmith.store.memory import MemoryRateLimiter

pytestmark = [pytest.mark.anyio, pytest.mark.services]

T0 = 1_800_000_000.0
RULE = {"limit": 1, "window": 60.0, "backoff": 1.0, "max_backoff": 1e12}


@pytest.fixture
async def two() -> AsyncIterator[tuple[Stores, Stores, str]]:
    """Two "processes" (each its own connection pool and subscription), one prefix."""
    url, prefix = redis_url(), redis_prefix()
    a = await with_redis(memory_stores(), url, prefix=prefix)
    b = await with_redis(memory_stores(), url, prefix=prefix)
    try:
        yield a, b, prefix
    finally:
        await a.close()
        await b.close()
        await delete_prefix(url, prefix)


async def test_failures_from_two_processes_count_as_one_and_none_is_lost(
    two: tuple[Stores, Stores, str],
) -> None:
    a, b, _ = two
    await asyncio.gather(
        *((a if i % 2 else b).rate_limiter.failure("account:x", now=T0, **RULE) for i in range(40))
    )
    memory = MemoryRateLimiter()
    for _ in range(40):
        expected = await memory.failure("account:x", now=T0, **RULE)
    # 40 failures: 2**39 s. A lost update (read-then-write) would show a shorter block.
    assert await a.rate_limiter.blocked_for("account:x", now=T0) == expected
    assert await b.rate_limiter.blocked_for("account:x", now=T0) == expected
    await b.rate_limiter.reset("account:x")
    assert await a.rate_limiter.blocked_for("account:x", now=T0) == 0


async def test_a_replay_seen_by_one_process_is_refused_by_the_other(
    two: tuple[Stores, Stores, str],
) -> None:
    a, b, _ = two
    results = await asyncio.gather(
        *(
            (a if i % 2 else b).assertion_replays.use("dpop:p1", expires_at=T0 + 60, now=T0)
            for i in range(20)
        )
    )
    assert results.count(True) == 1


async def test_another_prefix_is_another_deployment(two: tuple[Stores, Stores, str]) -> None:
    a, _, _ = two
    url, prefix = redis_url(), redis_prefix()
    other = await with_redis(memory_stores(), url, prefix=prefix)
    try:
        await a.rate_limiter.failure("address:1", now=T0, **RULE)
        assert await a.rate_limiter.blocked_for("address:1", now=T0) > 0
        assert await other.rate_limiter.blocked_for("address:1", now=T0) == 0
        assert await a.assertion_replays.use("j", expires_at=T0 + 9, now=T0)
        assert await other.assertion_replays.use("j", expires_at=T0 + 9, now=T0)
    finally:
        await other.close()
        await delete_prefix(url, prefix)


async def test_hostile_key_parts_stay_small_and_distinct(two: tuple[Stores, Stores, str]) -> None:
    a, _, prefix = two
    long_one, long_two = "x" * 5000 + "1", "x" * 5000 + "2"
    for key in ("\ud800", "a\x00b", long_one):
        await a.rate_limiter.failure(key, now=T0, **RULE)
        assert await a.rate_limiter.blocked_for(key, now=T0) == 1.0
    assert await a.rate_limiter.blocked_for(long_two, now=T0) == 0  # not the same hash
    assert await a.assertion_replays.use("\udfff" * 300, expires_at=T0 + 9, now=T0)
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url())
    try:
        keys = [k async for k in client.scan_iter(match=prefix + "*")]
    finally:
        await client.aclose()
    assert keys
    assert max(len(k) for k in keys) <= len(prefix.encode()) + 100


async def test_a_notice_reaches_the_other_process_and_its_own_handlers_once(
    two: tuple[Stores, Stores, str],
) -> None:
    a, b, _ = two
    heard_a: list[str | None] = []
    heard_b: asyncio.Queue[str | None] = asyncio.Queue()

    async def on_a(data: str | None) -> None:
        if data is not None:  # None: "the subscription is (re)established, catch up"
            heard_a.append(data)

    async def on_b(data: str | None) -> None:
        if data is not None:
            await heard_b.put(data)

    a.notices.subscribe("test", on_a)
    b.notices.subscribe("test", on_b)
    for stores in (a, b):  # both subscriptions are up
        while not stores.notices.live:
            await asyncio.sleep(0.01)
    await a.notices.publish("test", "42")
    assert await asyncio.wait_for(heard_b.get(), 10) == "42"
    await a.notices.publish("test", "43")
    assert await asyncio.wait_for(heard_b.get(), 10) == "43"
    assert heard_a == ["42", "43"]  # at once, and not again from its own subscription

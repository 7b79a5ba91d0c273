"""The in-memory rate limiter stays bounded under a flood of distinct keys."""

from __future__ import annotations

import pytest

from tokensmith.store.memory import MemoryRateLimiter

pytestmark = pytest.mark.anyio

T0 = 1_800_000_000.0
RULE = {"limit": 3, "window": 10.0, "backoff": 5.0, "max_backoff": 60.0}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_flood_of_keys_evicts_only_finished_entries() -> None:
    limiter = MemoryRateLimiter(max_keys=100)
    for _ in range(3):
        await limiter.failure("victim", now=T0, **RULE)
    assert await limiter.blocked_for("victim", now=T0) == 5.0
    for n in range(100):
        await limiter.failure(f"k{n}", now=T0, **RULE)
    # past the window, a new key makes room by dropping finished entries, not blocked ones
    await limiter.failure("late", now=T0 + 4.5, **RULE)
    assert await limiter.blocked_for("victim", now=T0 + 4.5) == 0.5
    await limiter.failure("later", now=T0 + 11, **RULE)
    assert len(limiter._counters) <= 100
    assert await limiter.blocked_for("later", now=T0 + 11) == 0

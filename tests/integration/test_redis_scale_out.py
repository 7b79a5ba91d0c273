"""Two `tokensmith serve` processes sharing PostgreSQL and the machine's Redis (under a key
prefix of this test's own): rate limits are counted by both together, a revocation at
one is denied at the other and streams on the other's feed at once, a key rotated at one
is served by the other at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest

from services import delete_prefix, postgres_database, redis_prefix, redis_url

from .server_process import Server

pytestmark = pytest.mark.services


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database("tokensmith_redis") as url:
        yield url


@pytest.fixture
def shared_redis() -> Iterator[tuple[str, str]]:
    url, prefix = redis_url(), redis_prefix()
    yield url, prefix
    asyncio.run(delete_prefix(url, prefix))


@pytest.fixture
def pair(make_server: Any, pg_url: str, shared_redis: tuple[str, str]) -> tuple[Server, Server]:
    url, prefix = shared_redis
    env = {
        "database_url": pg_url,
        "master_key": "M" * 43,
        "redis_url": url,
        "redis_prefix": prefix,
        "rate_account_limit": "3",
        "revocation_feed_secret": "f" * 32,
    }
    first: Server = make_server(**env)
    second: Server = make_server(start=False, issuer=first.url, **env)
    second.clock_file = first.clock_file  # one clock for both processes
    second.env["TOKENSMITH_TEST_CLOCK_FILE"] = str(first.clock_file)
    second.start()
    return first, second


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_redis_rate_limit_is_counted_across_both_processes(pair: tuple[Server, Server]) -> None:
    a, b = pair
    with a.client() as on_a, b.client() as on_b:
        a.register_and_login(on_a, "target")
        wrong = {"username": "target", "password": "not the password"}
        # the account limit is 3: two failures at A and one at B reach it together
        assert on_a.post("/auth/login", json=wrong).status_code == 401
        assert on_b.post("/auth/login", json=wrong).status_code == 401
        assert on_a.post("/auth/login", json=wrong).status_code == 401
        for client in (on_b, on_a):
            blocked = client.post("/auth/login", json=wrong)
            assert blocked.status_code == 429, blocked.text
            assert int(blocked.headers["retry-after"]) >= 1

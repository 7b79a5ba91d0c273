"""Redis stopped under a running `tokensmith serve` (a `redis-server` of this test's own on
a spare loopback port; the machine's shared one is never touched), then started again.

Fail closed (the default): what needs a rate-limit check answers 503 with `Retry-After`
and /readyz is false, while what needs no Redis (refresh, revocation checks, which fall
back to the database) goes on. After the restart everything is back without restarting
tokensmith — the notice subscription included, which the key-rotation check proves (the
server's own key schedule is set to an hour, so only a notice makes it reload).
Fail open: logins pass while Redis is down; /readyz still says it is."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from .own_services import OwnRedis
from .server_process import PASSWORD, Server, until

pytestmark = pytest.mark.services

DEADLINE = 20.0


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    root = tmp_path / "redis"
    root.mkdir()
    redis = OwnRedis(root)
    redis.start()
    yield redis
    redis.stop()


def _serve(make_server: Any, redis: OwnRedis, **env: str) -> Server:
    server: Server = make_server(
        redis_url=redis.url,
        redis_prefix="fault:",
        key_maintenance_interval="3600",
        **env,
    )
    return server


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _kids(server: Server) -> set[str]:
    return {k["kid"] for k in httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"]}


def test_redis_down_fails_closed_then_recovers_without_a_restart(
    own_redis: OwnRedis, make_server: Any
) -> None:
    server = _serve(make_server, own_redis)
    pid = server.process.pid if server.process else None
    creds = {"username": "faulty", "password": PASSWORD}
    with server.client() as client:  # (a hang would end on its timeout)
        login = server.register_and_login(client, "faulty")
        own_redis.stop()

        refused = client.post("/auth/login", json=creds)
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["error"] == "temporarily_unavailable"
        register = client.post("/auth/register", json={"username": "new1", "password": PASSWORD})
        assert register.status_code == 503
        assert "retry-after" in register.headers
        until(lambda: client.get("/readyz").status_code == 503, "/readyz to turn false")
        assert client.get("/readyz").json() == {"status": "redis unavailable"}

        # no Redis needed: refresh and the revocation check (the database is the truth)
        refreshed = client.post("/auth/refresh", json={"refresh_token": login["refresh_token"]})
        assert refreshed.status_code == 200, refreshed.text
        pair = refreshed.json()
        assert client.get("/userinfo", headers=_bearer(pair["access_token"])).status_code == 200
        out = client.post("/auth/logout", json={"refresh_token": pair["refresh_token"]})
        assert out.status_code == 204
        assert client.get("/userinfo", headers=_bearer(pair["access_token"])).status_code == 401

        own_redis.start()  # the same port; nothing of the old contents (no persistence)
        until(lambda: client.get("/readyz").status_code == 200, "/readyz to turn true")
        until(
            lambda: client.post("/auth/login", json=creds).status_code == 200,
            "logins to work again",
        )

    # the subscription is back: a rotation by another process is served at once (the
    # server's own schedule would take an hour)
    before = _kids(server)
    rotated = server.cli("keys", "rotate", "--force")
    assert rotated.returncode == 0, rotated.stderr
    listed = [json.loads(line) for line in server.cli("keys", "list", "--json").stdout.splitlines()]
    current = next(k["kid"] for k in listed if k["state"] == "current")
    until(lambda: _kids(server) != before, "the server to reload the rotated keys")
    assert current in _kids(server)
    assert server.process is not None
    assert server.process.pid == pid  # never restarted


def test_redis_down_with_the_open_policy_lets_logins_through(
    own_redis: OwnRedis, make_server: Any
) -> None:
    server = _serve(make_server, own_redis, redis_failure="open")
    creds = {"username": "open", "password": PASSWORD}
    with server.client() as client:
        server.register_and_login(client, "open")
        own_redis.stop()
        assert client.post("/auth/login", json=creds).status_code == 200
        wrong = {"username": "open", "password": "not the password"}
        assert client.post("/auth/login", json=wrong).status_code == 401  # counted nowhere
        until(lambda: client.get("/readyz").status_code == 503, "/readyz to turn false")
    assert "does not answer" in server.output()  # the outage is logged


def test_redis_store_calls_fail_fast_while_down_and_work_again_after(
    own_redis: OwnRedis,
) -> None:
    """The stores themselves: StoreUnavailable (never a hang: each call is bounded), the
    open policy's pass, the subscription's state, and after a restart — Redis empty, its
    script cache too — the same objects work and the subscription catches up."""
    from tokensmith.store import StoreUnavailable, memory_stores, with_redis

    rule = {"limit": 1, "window": 60.0, "backoff": 1.0, "max_backoff": 60.0}

    async def run() -> None:
        closed = await with_redis(memory_stores(), own_redis.url, prefix="s:")
        opened = await with_redis(memory_stores(), own_redis.url, prefix="s:", fail_open=True)
        caught_up = asyncio.Event()

        async def catch_up(data: str | None) -> None:
            if data is None:
                caught_up.set()

        closed.notices.subscribe("revocation", catch_up)
        try:
            assert await closed.rate_limiter.failure("k", now=1.0, **rule) == 1.0
            await _wait_for(lambda: closed.notices.live)
            caught_up.clear()
            own_redis.stop()
            for call in (
                closed.rate_limiter.blocked_for("k", now=1.0),
                closed.rate_limiter.failure("k", now=1.0, **rule),
                closed.assertion_replays.use("j", expires_at=9.0, now=1.0),
                opened.assertion_replays.use("j", expires_at=9.0, now=1.0),  # always closed
                closed.ping(),
            ):
                with pytest.raises(StoreUnavailable):
                    await asyncio.wait_for(call, 10)
            assert await opened.rate_limiter.blocked_for("k", now=1.0) == 0  # let through
            assert await opened.rate_limiter.failure("k", now=1.0, **rule) == 0
            await closed.notices.publish("revocation", "1")  # dropped, not raised
            await _wait_for(lambda: not closed.notices.live)

            own_redis.start()
            assert await closed.rate_limiter.failure("k", now=1.0, **rule) == 1.0
            assert await closed.assertion_replays.use("j", expires_at=9.0, now=1.0)
            await closed.ping()
            await _wait_for(lambda: closed.notices.live)
            assert caught_up.is_set()  # handlers were told to catch up
        finally:
            await closed.close()
            await opened.close()

    asyncio.run(run())


async def _wait_for(predicate: Callable[[], bool]) -> None:
    start = time.monotonic()
    while not predicate():
        assert time.monotonic() - start < DEADLINE
        await asyncio.sleep(0.02)

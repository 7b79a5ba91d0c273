"""Two `tokensmith serve` processes sharing PostgreSQL and the machine's Redis (under a key
prefix of this test's own): rate limits are counted by both together, a revocation at
one is denied at the other and streams on the other's feed at once, a key rotated at one
is served by the other at once."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from services import postgres_database
from tokensmith.jose import jwt

from .server_process import PASSWORD, Server, start_pair, until

pytestmark = pytest.mark.services

FEED_SECRET = "f" * 32


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database("tokensmith_redis") as url:
        yield url


@pytest.fixture
def pair(pg_url: str, shared_redis: tuple[str, str], make_server: Any) -> tuple[Server, Server]:
    """(the servers stop before the database and the keys are dropped)"""
    url, prefix = shared_redis
    return start_pair(
        make_server,
        database_url=pg_url,
        master_key="M" * 43,
        redis_url=url,
        redis_prefix=prefix,
        rate_account_limit="3",
        revocation_feed_secret=FEED_SECRET,
    )


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_redis_rate_limit_is_counted_across_both_processes(pair: tuple[Server, Server]) -> None:
    a, b = pair
    with a.client() as on_a, b.client() as on_b:
        a.register_and_login(on_a, "target")
        wrong = {"username": "target", "password": "not the password"}
        # the first block lasts 1 s: the shared clock stands still, so a busy machine
        # cannot let it run out between the requests
        a.clock_file.write_text(f"{a.now():.3f}")
        # the account limit is 3: two failures at A and one at B reach it together
        assert on_a.post("/auth/login", json=wrong).status_code == 401
        assert on_b.post("/auth/login", json=wrong).status_code == 401
        assert on_a.post("/auth/login", json=wrong).status_code == 401
        for client in (on_b, on_a):
            blocked = client.post("/auth/login", json=wrong)
            assert blocked.status_code == 429, blocked.text
            assert int(blocked.headers["retry-after"]) >= 1


#: how long a test waits for something that should take milliseconds (not a timing claim:
#: the measured delay is printed, the outcome is asserted)
DEADLINE = 15.0


def _seconds_until(predicate: Callable[[], bool], what: str) -> float:
    """How long ``until`` waited for ``predicate`` (to the polling's 50 ms)."""
    start = time.monotonic()
    until(predicate, what, timeout=DEADLINE)
    return time.monotonic() - start


class FeedReader(threading.Thread):
    """Reads one process's revocation feed; records when each event arrived."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.url = f"{server.url}/auth/revocations"
        self.ready = threading.Event()
        self.arrived: dict[str, float] = {}  # value -> monotonic arrival time
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            headers = {"Authorization": f"Bearer {FEED_SECRET}"}
            with httpx.stream("GET", self.url, headers=headers, timeout=60) as stream:
                kind = ""
                for line in stream.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: ") and kind == "ready":
                        self.ready.set()
                    elif line.startswith("data: ") and kind == "revocation":
                        event = json.loads(line[6:])
                        self.arrived[event["value"]] = time.monotonic()
        except BaseException as exc:
            self.failure = exc


def test_redis_revocation_at_a_is_denied_at_b_and_streams_on_bs_feed(
    pair: tuple[Server, Server], capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = pair
    feed = FeedReader(b)
    feed.start()
    assert feed.ready.wait(DEADLINE), feed.failure
    with a.client() as on_a, b.client() as on_b:
        login = a.register_and_login(on_a, "leaver")
        token = login["access_token"]
        assert on_b.get("/userinfo", headers=_bearer(token)).status_code == 200
        sid = jwt.peek(token).claims["sid"]
        start = time.monotonic()
        out = on_a.post("/auth/logout", json={"refresh_token": login["refresh_token"]})
        assert out.status_code == 204
        logout_took = time.monotonic() - start
        denied_after = _seconds_until(
            lambda: on_b.get("/userinfo", headers=_bearer(token)).status_code == 401,
            "B to deny the access token",
        )
        until(lambda: sid in feed.arrived, "the revocation on B's feed")
    streamed_after = feed.arrived[sid] - start
    with capsys.disabled():
        print(
            f"\n[redis] logout at A took {logout_took:.3f} s; then denied at B after "
            f"{denied_after:.3f} s; on B's revocation feed {streamed_after:.3f} s after the "
            "logout was sent"
        )


def test_redis_key_rotation_at_a_is_served_by_b(pair: tuple[Server, Server], capsys: Any) -> None:
    a, b = pair
    before = httpx.get(f"{b.url}/.well-known/jwks.json").json()
    rotated = a.cli("keys", "rotate", "--force")  # another process: the operator command
    assert rotated.returncode == 0, rotated.stderr
    start = time.monotonic()
    listed = [json.loads(line) for line in a.cli("keys", "list", "--json").stdout.splitlines()]
    current = next(k["kid"] for k in listed if k["state"] == "current")
    assert current in rotated.stdout

    def b_signs_with_the_new_key() -> bool:
        with b.client() as on_b:
            answer = on_b.post("/auth/login", json={"username": "rotor", "password": PASSWORD})
        return bool(jwt.peek(answer.json()["access_token"]).header["kid"] == current)

    with b.client() as on_b:
        b.register_and_login(on_b, "rotor")
    until(
        lambda: httpx.get(f"{b.url}/.well-known/jwks.json").json() != before,
        "B to serve the new key set",
    )
    served_after = time.monotonic() - start
    assert b_signs_with_the_new_key()  # B reloaded: it signs with the promoted key
    assert (
        httpx.get(f"{a.url}/.well-known/jwks.json").json()
        == httpx.get(f"{b.url}/.well-known/jwks.json").json()
    )
    with capsys.disabled():
        print(f"\n[redis] keys rotated by the CLI -> B serves them after {served_after:.3f} s")

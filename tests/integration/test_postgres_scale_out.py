"""Two stateless `tokensmith serve` processes sharing one PostgreSQL database (the
scale-out shape of DESIGN.md): sessions, rotation and reuse detection span both."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services import postgres_database

from .server_process import Server

pytestmark = pytest.mark.services


@pytest.fixture
def pg_url() -> Iterator[str]:
    with postgres_database("tokensmith_integration") as url:
        yield url


@pytest.fixture
def pair(make_server: Any, pg_url: str) -> tuple[Server, Server]:
    first: Server = make_server(database_url=pg_url, master_key="M" * 43)
    second: Server = make_server(
        start=False, database_url=pg_url, master_key="M" * 43, issuer=first.url
    )
    second.clock_file = first.clock_file  # one clock for both processes
    second.env["TOKENSMITH_TEST_CLOCK_FILE"] = str(first.clock_file)
    second.start()
    return first, second


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_postgres_sessions_and_rotation_span_two_processes(pair: tuple[Server, Server]) -> None:
    a, b = pair
    assert (
        httpx.get(f"{a.url}/.well-known/jwks.json").json()
        == httpx.get(f"{b.url}/.well-known/jwks.json").json()
    )
    with a.client() as on_a, b.client() as on_b:
        login = a.register_and_login(on_a, "shared")
        assert on_b.get("/userinfo", headers=_bearer(login["access_token"])).status_code == 200
        r1 = on_b.post("/auth/refresh", json={"refresh_token": login["refresh_token"]})
        assert r1.status_code == 200, r1.text
        retry = on_a.post("/auth/refresh", json={"refresh_token": login["refresh_token"]})
        assert retry.status_code == 200
        assert retry.json()["refresh_token"] == r1.json()["refresh_token"]  # grace, no branch
        r2 = on_a.post("/auth/refresh", json={"refresh_token": r1.json()["refresh_token"]})
        assert r2.status_code == 200
        reuse = on_b.post("/auth/refresh", json={"refresh_token": login["refresh_token"]})
        assert reuse.status_code == 400  # ancestor reuse on B ...
        assert (
            on_a.post("/auth/refresh", json={"refresh_token": r2.json()["refresh_token"]})
        ).status_code == 400  # ... revoked the family for A too


def test_postgres_fifty_concurrent_refreshes_across_two_processes(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair
    with a.client() as client:
        login = a.register_and_login(client, "racer")

    def attempt(i: int) -> httpx.Response:
        server = a if i % 2 else b
        with server.client() as own:
            return own.post("/auth/refresh", json={"refresh_token": login["refresh_token"]})

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(attempt, range(50)))
    assert all(r.status_code in (200, 400) for r in responses)
    children = {r.json()["refresh_token"] for r in responses if r.status_code == 200}
    assert len(children) == 1


def test_postgres_logout_on_one_process_denies_the_access_token_on_the_other(
    pair: tuple[Server, Server],
) -> None:
    a, b = pair
    with a.client() as on_a, b.client() as on_b:
        login = a.register_and_login(on_a, "leaver")
        assert on_b.get("/userinfo", headers=_bearer(login["access_token"])).status_code == 200
        out = on_a.post("/auth/logout", json={"refresh_token": login["refresh_token"]})
        assert out.status_code == 204
        denied = on_b.get("/userinfo", headers=_bearer(login["access_token"]))
        assert denied.status_code == 401

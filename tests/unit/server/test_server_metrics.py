"""GET /metrics: who may read it (off / loopback / bearer) and what it counts."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tokensmith.issuer.config import Argon2Params
from tokensmith.issuer.passwords import Argon2Hasher
from tokensmith.issuer.service import Issuer
from tokensmith.server import create_app
from tokensmith.server.compose import issuer_config
from tokensmith.settings import SettingsError, load_settings
from tokensmith.store import memory_stores

pytestmark = pytest.mark.anyio
SECRET = "metrics-secret-" + "x" * 20
PASSWORD = "correct horse battery"


@asynccontextmanager
async def _app(**settings: Any) -> AsyncIterator[FastAPI]:
    loaded = load_settings(**settings)
    stores = memory_stores()
    hasher = Argon2Hasher(Argon2Params(time_cost=1, memory_cost=1024, parallelism=1))
    issuer = await Issuer.open(issuer_config(loaded), stores, master_key=bytes(32), hasher=hasher)
    application = create_app(loaded, issuer=issuer)
    async with application.router.lifespan_context(application):
        yield application
    await issuer.close()
    await stores.close()


def _client(app: FastAPI, peer: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(peer, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")


def _value(text: str, name: str, **labels: str) -> float:
    """The sample ``name{labels}`` of an exposition text (0 when absent)."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'([a-z_]+)="([^"]*)"', match.group(2) or ""))
        if found == labels:
            return float(match.group(3))
    return 0.0


async def test_metrics_are_off_by_default() -> None:
    async with _app() as app, _client(app) as client:
        answer = await client.get("/metrics")
    assert answer.status_code == 404


async def test_metrics_loopback_serves_a_direct_loopback_peer_only() -> None:
    async with _app(metrics="loopback") as app:
        async with _client(app) as local:
            ok = await local.get("/metrics")
            proxied = await local.get("/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
            forwarded = await local.get("/metrics", headers={"Forwarded": "for=203.0.113.9"})
        async with _client(app, peer="203.0.113.9") as remote:
            far = await remote.get("/metrics")
    assert ok.status_code == 200
    assert ok.headers["content-type"].startswith("text/plain")
    assert "tokensmith_http_requests_total" in ok.text
    assert proxied.status_code == forwarded.status_code == far.status_code == 403


async def test_metrics_bearer_needs_the_secret_from_anywhere() -> None:
    async with (
        _app(metrics="bearer", metrics_secret=SECRET) as app,
        _client(app, peer="203.0.113.9") as remote,
    ):
        missing = await remote.get("/metrics")
        wrong = await remote.get("/metrics", headers={"Authorization": "Bearer nope"})
        right = await remote.get("/metrics", headers={"Authorization": f"Bearer {SECRET}"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert right.status_code == 200


def test_metrics_bearer_without_a_secret_is_refused_at_start() -> None:
    with pytest.raises(SettingsError, match="metrics_secret"):
        load_settings(metrics="bearer")
    with pytest.raises(SettingsError, match="metrics_secret"):
        load_settings(metrics="bearer", metrics_secret="short")


async def test_metrics_count_requests_by_route_template_and_auth_events() -> None:
    async with _app(metrics="loopback") as app, _client(app) as client:
        before = (await client.get("/metrics")).text
        creds = {"username": "metered", "password": PASSWORD}
        assert (await client.post("/auth/register", json=creds)).status_code == 201
        bad = {"username": "metered", "password": "wrong password!"}
        assert (await client.post("/auth/login", json=bad)).status_code == 401
        login = (await client.post("/auth/login", json=creds)).json()
        first = login["refresh_token"]
        child = (await client.post("/auth/refresh", json={"refresh_token": first})).json()
        await client.post("/auth/refresh", json={"refresh_token": child["refresh_token"]})
        reuse = await client.post("/auth/refresh", json={"refresh_token": first})
        assert reuse.status_code == 400  # an ancestor of the live token: the family dies
        again = (await client.post("/auth/login", json=creds)).json()
        bearer = {"Authorization": f"Bearer {again['access_token']}"}
        assert (await client.post("/auth/logout-all", headers=bearer)).status_code == 200
        await client.get("/sessions/not-a-session")
        after = (await client.get("/metrics")).text
    assert _value(before, "tokensmith_logins_total", outcome="ok") == 0
    assert _value(after, "tokensmith_logins_total", outcome="ok") == 2
    assert _value(after, "tokensmith_logins_total", outcome="failed") == 1
    assert _value(after, "tokensmith_refreshes_total") == 2
    assert _value(after, "tokensmith_refresh_reuse_total") == 1
    assert _value(after, "tokensmith_revocations_total", kind="logout_all") == 1
    assert (
        _value(
            after,
            "tokensmith_http_requests_total",
            route="/auth/login",
            method="POST",
            status="200",
        )
        == 2
    )
    assert (
        _value(
            after,
            "tokensmith_http_requests_total",
            route="/auth/login",
            method="POST",
            status="401",
        )
        == 1
    )
    assert (
        _value(
            after, "tokensmith_http_requests_total", route="unmatched", method="GET", status="404"
        )
        == 1
    )
    assert (
        _value(after, "tokensmith_http_request_seconds_count", route="/auth/refresh", method="POST")
        == 3
    )
    assert "/sessions/not-a-session" not in after  # a path never becomes a label


async def test_metrics_count_only_their_own_issuers_events_at_any_log_level() -> None:
    """Two apps in one process (as in these tests): each counts its own issuer's audit
    events, whatever the log level (no audit line is printed at ``warning``), and a
    stopped app counts nothing more."""
    async with (
        _app(metrics="loopback", log_level="warning") as one,
        _app(metrics="loopback", log_level="warning") as other,
        _client(one) as client_one,
        _client(other) as client_other,
    ):
        creds = {"username": "metered", "password": PASSWORD}
        assert (await client_one.post("/auth/register", json=creds)).status_code == 201
        assert (await client_one.post("/auth/login", json=creds)).status_code == 200
        counted_one = (await client_one.get("/metrics")).text
        counted_other = (await client_other.get("/metrics")).text
        stopped = other.state.metrics
    assert _value(counted_one, "tokensmith_logins_total", outcome="ok") == 1
    assert _value(counted_one, "tokensmith_audit_events_total", event="login_ok") == 1
    assert _value(counted_other, "tokensmith_logins_total", outcome="ok") == 0
    assert stopped._unwatch is None  # detached at shutdown

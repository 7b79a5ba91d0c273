"""The server's side of Redis without a Redis server: the settings, the 503 mapping of a
check that could not be made, and /readyz reporting a backend that does not answer."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from tokensmith.issuer.client_auth import PresentedClient
from tokensmith.issuer.config import Argon2Params
from tokensmith.issuer.passwords import Argon2Hasher
from tokensmith.issuer.service import Issuer
from tokensmith.jose import JWK, jwt
from tokensmith.server import create_app
from tokensmith.server.compose import issuer_config
from tokensmith.server.errors import install_error_handlers
from tokensmith.settings import SettingsError, load_settings
from tokensmith.store import Stores, StoreUnavailable, memory_stores

pytestmark = pytest.mark.anyio


# ---- settings ------------------------------------------------------------------------------


def test_redis_settings_default_to_no_redis_and_closed_failures() -> None:
    settings = load_settings()
    assert settings.redis_url is None
    assert settings.redis_prefix == "tokensmith:"
    assert settings.redis_failure == "closed"


@pytest.mark.parametrize(
    "url", ["redis://127.0.0.1:6379/0", "rediss://h:6380", "unix:///run/redis.sock"]
)
def test_redis_url_accepts_redis_schemes(url: str) -> None:
    assert load_settings(redis_url=url).redis_url == url


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "127.0.0.1:6379", "redis://"])
def test_redis_url_refuses_what_is_not_a_redis_url(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(redis_url=url)
    assert any("redis_url" in p and "TOKENSMITH_REDIS_URL" in p for p in caught.value.problems)


def test_redis_failure_takes_closed_or_open_only() -> None:
    assert load_settings(redis_failure="open").redis_failure == "open"
    with pytest.raises(SettingsError):
        load_settings(redis_failure="maybe")


def test_redis_password_is_masked_in_effective_settings() -> None:
    shown = load_settings(redis_url="redis://:hunter22@cache:6379/1").effective()["redis_url"]
    assert "hunter22" not in shown
    assert shown == "redis://:****@cache:6379/1"


# ---- StoreUnavailable -> 503 ------------------------------------------------------------------


def _failing_app() -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/auth/login")
    async def login() -> None:
        raise StoreUnavailable("Redis did not answer (rate limit check)", retry_after=3)

    @app.post("/oauth/token")
    async def token() -> None:
        raise StoreUnavailable("Redis did not answer (replay check)")

    return app


async def test_unavailable_store_is_503_with_retry_after_never_500() -> None:
    transport = httpx.ASGITransport(app=_failing_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        login = await client.post("/auth/login")
        token = await client.post("/oauth/token")
    assert login.status_code == 503
    assert login.headers["retry-after"] == "3"
    assert login.json() == {
        "error": "temporarily_unavailable",
        "message": "Redis did not answer (rate limit check)",
    }
    assert token.status_code == 503
    assert token.headers["retry-after"] == "1"
    assert token.json()["error"] == "temporarily_unavailable"  # RFC 6749 shape on /oauth
    assert "error_description" in token.json()


# ---- the issuer over stores whose Redis is down ---------------------------------------------


class _DownLimiter:
    async def blocked_for(self, key: str, *, now: float) -> float:
        raise StoreUnavailable("Redis did not answer (rate limit check)")

    async def failure(self, key: str, **rule: float) -> float:
        raise StoreUnavailable("Redis did not answer (rate limit count)")

    async def reset(self, key: str) -> None:
        raise StoreUnavailable("Redis did not answer (rate limit reset)")


class _Backend:
    def __init__(self) -> None:
        self.up = True
        self.pings = 0

    async def ping(self) -> None:
        self.pings += 1
        if not self.up:
            raise StoreUnavailable("Redis did not answer (ping)")


@pytest.fixture
def backend() -> _Backend:
    return _Backend()


@pytest.fixture
async def app(backend: _Backend) -> AsyncIterator[FastAPI]:
    settings = load_settings()
    stores: Stores = dataclasses.replace(
        memory_stores(),
        rate_limiter=_DownLimiter(),
        ping=backend.ping,
    )
    issuer = await _open_issuer(stores)
    application = create_app(settings, issuer=issuer)
    async with application.router.lifespan_context(application):
        yield application
    await issuer.close()


async def _open_issuer(stores: Stores) -> Issuer:
    hasher = Argon2Hasher(Argon2Params(time_cost=1, memory_cost=1024, parallelism=1))
    config = issuer_config(load_settings())
    return await Issuer.open(config, stores, master_key=bytes(32), hasher=hasher)


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000")


async def test_login_whose_rate_limit_cannot_be_checked_is_503(app: FastAPI) -> None:
    async with _client(app) as client:
        answer = await client.post("/auth/login", json={"username": "a", "password": "b" * 8})
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "1"
    assert answer.json()["error"] == "temporarily_unavailable"


async def test_readyz_is_503_while_redis_is_down_and_asks_it_once_a_second(
    app: FastAPI, backend: _Backend
) -> None:
    async with _client(app) as client:
        assert (await client.get("/readyz")).status_code == 200
        first = backend.pings
        await client.get("/readyz")
        assert backend.pings == first  # the cached answer
        backend.up = False
        app.state.readiness = None  # the cache is a second; the test does not wait for it
        down = await client.get("/readyz")
        assert (down.status_code, down.json()) == (503, {"status": "redis unavailable"})
        backend.up = True
        app.state.readiness = None
        assert (await client.get("/readyz")).status_code == 200


class _DownReplays:
    async def use(self, key: str, *, expires_at: float, now: float) -> bool:
        raise StoreUnavailable("Redis did not answer (replay check)")

    async def purge(self, *, now: float) -> int:
        raise StoreUnavailable("Redis did not answer (replay purge)")


async def test_client_assertion_whose_replay_cannot_be_checked_is_unavailable() -> None:
    """Never accepted unchecked (and never an invalid_client either): 503 at the server."""
    settings = load_settings()
    stores = dataclasses.replace(memory_stores(), assertion_replays=_DownReplays())
    issuer = await _open_issuer(stores)
    try:
        key = JWK.generate("ES256", kid="k")
        await issuer.clients.create(
            name="svc-k",
            auth_method="private_key_jwt",
            audiences=("b",),
            jwks={"keys": [key.public().to_dict()]},
        )
        now = int(time.time())
        claims = {
            "iss": "svc-k",
            "sub": "svc-k",
            "aud": f"{settings.issuer_url}/oauth/token",
            "exp": now + 60,
            "jti": "once",
        }
        assertion = jwt.encode(claims, key, header={"kid": "k"})
        with pytest.raises(StoreUnavailable):
            await issuer.clients.authenticator.authenticate(
                PresentedClient("private_key_jwt", assertion=assertion)
            )
    finally:
        await issuer.close()

"""tokensmith.client.DPoPAuth against a small auth server and API (client_apps.py)
through httpx's own transports: sync over WSGI (Flask), async over ASGI (Starlette).
Every proof is verified for real; the clock is moved by hand."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from client_apps import Clock, MiniAuthServer, asgi_app, wsgi_app

from tokensmith.client import DPoPAuth, DPoPClientOptions, TokenSet
from tokensmith.jose import JWK, dpop
from tokensmith.jose.encoding import b64url_decode
from tokensmith.resource import DPoPNonces

BASE = "https://id.example"
LOGIN = {"username": "alice", "password": "pw"}


def _auth(clock: Clock, **options: object) -> DPoPAuth:
    return DPoPAuth(options=DPoPClientOptions(now=clock, **options))  # type: ignore[arg-type]


def _sync_client(
    server: MiniAuthServer, auth: DPoPAuth, api_nonces: DPoPNonces | None = None
) -> httpx.Client:
    app = wsgi_app(server, server.verifier(nonces=api_nonces))
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url=BASE, auth=auth)


def _async_client(
    server: MiniAuthServer, auth: DPoPAuth, api_nonces: DPoPNonces | None = None
) -> httpx.AsyncClient:
    app = asgi_app(server, server.verifier(nonces=api_nonces))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE, auth=auth)


def _claims(proof: str) -> dict[str, object]:
    result: dict[str, object] = json.loads(b64url_decode(proof.split(".")[1]))
    return result


def test_login_with_a_nonce_retry_then_api_call_sync() -> None:
    clock = Clock()
    server = MiniAuthServer(clock)
    auth = _auth(clock)
    with _sync_client(server, auth) as http:
        login = http.post("/auth/login", json=LOGIN)
        assert login.status_code == 200
        # first try without a nonce: 400 use_dpop_nonce, then the retry with it
        assert server.calls == [("/auth/login", 400), ("/auth/login", 200)]
        assert auth.tokens is not None
        assert auth.tokens.is_dpop
        me = http.get("/api/me")
        assert me.status_code == 200
        assert me.json() == {"sub": "user-1", "jkt": auth.jkt}
        proof = me.request.headers["DPoP"]
        assert _claims(proof)["ath"] == dpop.access_token_hash(auth.tokens.access_token)
        assert me.request.headers["Authorization"] == f"DPoP {auth.tokens.access_token}"
        assert auth.nonce_for(BASE) == server.nonces.current(clock())


def test_login_and_api_call_async() -> None:
    async def scenario() -> None:
        clock = Clock()
        server = MiniAuthServer(clock)
        auth = _auth(clock)
        async with _async_client(server, auth) as http:
            assert (await http.post("/auth/login", json=LOGIN)).status_code == 200
            me = await http.get("/api/me")
            assert me.status_code == 200
            assert me.json()["jkt"] == auth.jkt

    asyncio.run(scenario())


def test_resource_nonce_challenge_is_retried_once_sync() -> None:
    clock = Clock()
    server = MiniAuthServer(clock)
    auth = _auth(clock)
    api_nonces = DPoPNonces(b"r" * 32)
    with _sync_client(server, auth, api_nonces) as http:
        http.post("/auth/login", json=LOGIN)
        # the token endpoint and the API are one origin here: the API's challenge
        # replaces the auth server's nonce, and the retry carries it
        me = http.get("/api/me")
        assert me.status_code == 200
        assert _claims(me.request.headers["DPoP"])["nonce"] == api_nonces.current(clock())


def test_near_expiry_refreshes_first_async() -> None:
    async def scenario() -> None:
        clock = Clock()
        server = MiniAuthServer(clock, ttl=300)
        auth = _auth(clock, refresh_margin=30)
        async with _async_client(server, auth) as http:
            await http.post("/auth/login", json=LOGIN)
            first = auth.tokens
            assert first is not None
            clock.now += 280  # 20 s left: inside the margin
            me = await http.get("/api/me")
            assert me.status_code == 200
            assert auth.tokens is not None
            assert auth.tokens.access_token != first.access_token
            assert auth.tokens.refresh_token != first.refresh_token
            assert ("/auth/refresh", 200) in server.calls

    asyncio.run(scenario())


def test_invalid_token_answer_refreshes_and_retries_sync() -> None:
    clock = Clock()
    server = MiniAuthServer(clock, ttl=300)
    auth = _auth(clock)
    with _sync_client(server, auth) as http:
        http.post("/auth/login", json=LOGIN)
    held = auth.tokens
    assert held is not None
    assert held.refresh_token is not None
    # tokens restored without their expiry: only the API's 401 tells they are stale
    restored = TokenSet(access_token=held.access_token, refresh_token=held.refresh_token)
    options = DPoPClientOptions(now=clock, refresh_url=f"{BASE}/auth/refresh")
    again = DPoPAuth(auth.key, tokens=restored, options=options)
    clock.now += 301
    with _sync_client(server, again) as http:
        me = http.get("/api/me")
        assert me.status_code == 200
        assert [c for c in server.calls if c[0] == "/auth/refresh"][-1] == ("/auth/refresh", 200)
        assert again.tokens is not None
        assert again.tokens.access_token != held.access_token
        # the API's 401, the refresh's nonce challenge, the refresh; then the retry answered
        assert [r.status_code for r in me.history] == [401, 400, 200]
        assert me.history[0].request.url.path == "/api/me"


def test_oauth_refresh_form_at_the_token_endpoint_sync() -> None:
    clock = Clock()
    server = MiniAuthServer(clock)
    auth = _auth(clock, refresh_url=f"{BASE}/oauth/token", client_id="first-party")
    with _sync_client(server, auth) as http:
        http.post("/auth/login", json=LOGIN)
        clock.now += 400
        assert http.get("/api/me").status_code == 200
        assert ("/oauth/token", 200) in server.calls


def test_no_refresh_token_means_the_401_is_returned() -> None:
    clock = Clock()
    server = MiniAuthServer(clock)
    key = JWK.generate("ES256")
    stale = server._issue(key.thumbprint())["access_token"]
    tokens = TokenSet(access_token=stale, expires_at=None)
    auth = DPoPAuth(key, tokens=tokens, options=DPoPClientOptions(now=clock))
    clock.now += 1000
    with _sync_client(server, auth) as http:
        me = http.get("/api/me")
        assert me.status_code == 401
        assert 'error="invalid_token"' in me.headers["WWW-Authenticate"]


def test_another_key_cannot_use_the_tokens() -> None:
    clock = Clock()
    server = MiniAuthServer(clock)
    auth = _auth(clock)
    with _sync_client(server, auth) as http:
        http.post("/auth/login", json=LOGIN)
    assert auth.tokens is not None
    thief = DPoPAuth(tokens=auth.tokens, options=DPoPClientOptions(now=clock))
    with _sync_client(server, thief) as http:
        stolen = http.get("/api/me")
        assert stolen.status_code == 401
        assert stolen.json()["code"] == "dpop_jkt_mismatch"


def test_bearer_tokens_are_sent_as_bearer_without_a_proof() -> None:
    request = httpx.Request("GET", "https://api.example/x")
    auth = DPoPAuth(tokens=TokenSet(access_token="abc", token_type="Bearer"))
    sent = next(auth.auth_flow(request))
    assert sent.headers["Authorization"] == "Bearer abc"
    assert "DPoP" not in sent.headers


def test_caller_mistakes_fail_when_built() -> None:
    with pytest.raises(ValueError, match="private"):
        DPoPAuth(JWK.generate("ES256").public())
    with pytest.raises(ValueError, match="private"):
        DPoPAuth(JWK.from_secret(b"s" * 32))
    with pytest.raises(TypeError):
        DPoPClientOptions(token_paths="/auth/login")
    with pytest.raises(ValueError, match="http"):
        DPoPClientOptions(refresh_url="ftp://x/")
    with pytest.raises(ValueError, match="token_type"):
        TokenSet(access_token="a", token_type="MAC")

"""DPoP end to end over real HTTP (issue 9): a real ``tokensmith serve`` with server
nonces on, the client helper (``tokensmith.client.DPoPAuth``) and an API verifying with
``tokensmith.resource`` (JWKS + revocation feed, DPoP on). Login with DPoP → the API
accepts the token with a proof → the same token without the proof, as Bearer, with
another key's proof, or with a replayed proof: refused; a refresh with another key:
refused; logout-all (a bound token, DPoP scheme) reaches the API."""

from __future__ import annotations

import time
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tokensmith.client import DPoPAuth
from tokensmith.jose import JWK, jwt
from tokensmith.jose.dpop import make_proof
from tokensmith.resource import (
    AccessToken,
    AccessTokenVerifier,
    DPoPOptions,
    FeedOptions,
    RevocationFeed,
    VerifierOptions,
)
from tokensmith.resource.asgi import BearerAuthMiddleware
from tokensmith.resource.fastapi import Authenticated

from .server_process import PASSWORD, Server

FEED_SECRET = "dpop-e2e-feed-secret-0123456789abcdef"
API = "http://testserver"


def _api(server: Server) -> tuple[TestClient, RevocationFeed]:
    feed = RevocationFeed(
        server.url, token=FEED_SECRET, options=FeedOptions(backoff_initial=0.05)
    ).start()
    assert feed.wait_connected(10), feed.last_error
    assert feed.wait_synced(10)
    verifier = AccessTokenVerifier(
        issuer=server.url,
        audience=server.url,
        options=VerifierOptions(revocations=feed, dpop=DPoPOptions(public_url=API)),
    )
    app = FastAPI()
    app.add_middleware(BearerAuthMiddleware, verifier=verifier)

    @app.get("/orders")
    async def orders(token: Authenticated) -> dict[str, Any]:
        assert isinstance(token, AccessToken)
        return {"sub": token.subject}

    return TestClient(app, base_url=API), feed


def _error(response: httpx.Response) -> str:
    return response.headers.get("www-authenticate", "")


def test_dpop_end_to_end(make_server: Any) -> None:
    server: Server = make_server(revocation_feed_secret=FEED_SECRET, dpop_nonce="true")
    api, feed = _api(server)
    key, other_key = JWK.generate("ES256"), JWK.generate("ES256")
    auth = DPoPAuth(key)
    try:
        with server.client() as plain:
            created = plain.post("/auth/register", json={"username": "alice", "password": PASSWORD})
            assert created.status_code == 201, created.text
        with server.client(auth=auth) as client:
            # the helper answers the server's nonce challenge by itself
            login = client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
            assert login.status_code == 200, login.text
            assert login.json()["token_type"] == "DPoP"
            assert login.headers["DPoP-Nonce"]
            tokens = auth.tokens
            assert tokens is not None
            assert tokens.is_dpop
            token = tokens.access_token
            assert jwt.peek(token).claims["cnf"] == {"jkt": key.thumbprint()}

            # the API accepts the bound token with a proof of the key
            ok = api.get("/orders", auth=auth)
            assert ok.status_code == 200, ok.text
            assert ok.json()["sub"] == jwt.peek(token).claims["sub"]
            # /userinfo at the server too (its nonce challenge answered by the helper)
            me = client.get("/userinfo")
            assert me.status_code == 200, me.text
            assert me.json()["preferred_username"] == "alice"

            # the same token: without a proof, as Bearer, another key's proof, a replay
            no_proof = api.get("/orders", headers={"Authorization": f"DPoP {token}"})
            assert no_proof.status_code == 401
            as_bearer = api.get("/orders", headers={"Authorization": f"Bearer {token}"})
            assert as_bearer.status_code == 401
            stolen = make_proof(
                other_key, htm="GET", htu=f"{API}/orders", iat=int(time.time()), access_token=token
            )
            wrong_key = api.get(
                "/orders", headers={"Authorization": f"DPoP {token}", "DPoP": stolen}
            )
            assert wrong_key.status_code == 401
            assert "invalid_dpop_proof" in _error(wrong_key)
            once = auth.proof("GET", f"{API}/orders", access_token=token)
            first = api.get("/orders", headers={"Authorization": f"DPoP {token}", "DPoP": once})
            assert first.status_code == 200, first.text
            replay = api.get("/orders", headers={"Authorization": f"DPoP {token}", "DPoP": once})
            assert replay.status_code == 401
            assert "invalid_dpop_proof" in _error(replay)

            # a refresh with another key is refused, and does not burn the token
            thief = DPoPAuth(other_key)
            with server.client(auth=thief) as thief_client:
                refused = thief_client.post(
                    "/auth/refresh", json={"refresh_token": tokens.refresh_token}
                )
            assert refused.status_code == 400
            assert refused.json()["error"] == "invalid_grant"
            renewed = client.post("/auth/refresh", json={"refresh_token": tokens.refresh_token})
            assert renewed.status_code == 200, renewed.text
            assert renewed.json()["token_type"] == "DPoP"
            new_tokens = auth.tokens
            assert new_tokens is not None
            assert new_tokens.access_token != token
            assert api.get("/orders", auth=auth).status_code == 200

            # logout-all with the bound token (DPoP scheme + proof) reaches the API
            ended = client.post("/auth/logout-all")
            assert ended.status_code == 200, ended.text
            assert ended.json() == {"revoked": 1}
        started = time.monotonic()
        bound = new_tokens.access_token
        while True:
            proof = auth.proof("GET", f"{API}/orders", access_token=bound)
            answer = api.get("/orders", headers={"Authorization": f"DPoP {bound}", "DPoP": proof})
            if answer.status_code == 401:
                break
            assert time.monotonic() - started < 5.0, "the API still accepts the token"
            time.sleep(0.02)
        assert 'error="invalid_token"' in _error(answer)
    finally:
        feed.stop()

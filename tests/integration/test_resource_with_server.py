"""The API side against a real ``tokensmith serve``: discovery + JWKS + the revocation
feed. Logout-all on the server → the API refuses the user's still-unexpired access
token within 1 s, and verifying makes no request to the server (counted in the
server's access log)."""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tokensmith.resource import (
    AccessToken,
    AccessTokenVerifier,
    FeedOptions,
    RevocationFeed,
    VerifierOptions,
)
from tokensmith.resource.asgi import BearerAuthMiddleware
from tokensmith.resource.fastapi import Authenticated

from .server_process import Server

FEED_SECRET = "resource-side-feed-secret-0123456789"
SERVER_PATHS = ("/.well-known/openid-configuration", "/.well-known/jwks.json", "/auth/revocations")


def _api(server: Server) -> tuple[TestClient, AccessTokenVerifier, RevocationFeed]:
    feed = RevocationFeed(
        server.url, token=FEED_SECRET, options=FeedOptions(backoff_initial=0.05)
    ).start()
    assert feed.wait_connected(10), feed.last_error
    assert feed.wait_synced(10), "the server marks the end of its backlog (event: ready)"
    verifier = AccessTokenVerifier(
        issuer=server.url,
        audience=server.url,
        options=VerifierOptions(revocations=feed),
    )
    app = FastAPI()
    app.add_middleware(BearerAuthMiddleware, verifier=verifier)

    @app.get("/orders")
    async def orders(token: Authenticated) -> dict[str, Any]:
        return {"sub": token.subject, "scopes": sorted(token.scopes)}

    return TestClient(app), verifier, feed


def _requests_seen_by_server(server: Server) -> Counter[str]:
    seen: Counter[str] = Counter()
    for line in server.output().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        fields = record.get("fields", record) if isinstance(record, dict) else {}
        if isinstance(fields, dict) and fields.get("event") == "http":
            seen[str(fields.get("path"))] += 1
    return seen


def wait_until(condition: Any, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return bool(condition())


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_logout_all_is_enforced_by_the_api_within_a_second_without_a_request_per_verification(
    make_server: Any,
) -> None:
    server: Server = make_server(revocation_feed_secret=FEED_SECRET)
    api, verifier, feed = _api(server)
    try:
        with server.client() as client:
            user = server.register_and_login(client, "alice")
            other = server.register_and_login(client, "bob")
            token = user["access_token"]
            for _ in range(200):
                answer = api.get("/orders", headers=_bearer(token))
                assert answer.status_code == 200, answer.text
            assert answer.json()["sub"]
            assert api.get("/orders", headers=_bearer(other["access_token"])).status_code == 200

            logged_out = client.post("/auth/logout-all", headers=_bearer(token))
            assert logged_out.status_code == 200, logged_out.text
            started = time.monotonic()
            while api.get("/orders", headers=_bearer(token)).status_code == 200:
                assert time.monotonic() - started < 1.0, "the API still accepts the token"
                time.sleep(0.01)
            elapsed = time.monotonic() - started
        refused = api.get("/orders", headers=_bearer(token))
        assert refused.status_code == 401
        assert refused.json()["code"] == "jwt_revoked"
        assert 'error="invalid_token"' in refused.headers["www-authenticate"]
        # bob is not affected
        assert api.get("/orders", headers=_bearer(other["access_token"])).status_code == 200
        assert elapsed < 1.0
        assert verifier.outcomes["ok"] >= 202
    finally:
        feed.stop()
    remote = verifier.key_set
    assert remote.fetches == 1  # type: ignore[union-attr]
    assert feed.connects == 1
    # the server's own count, once the feed's stream is closed and logged
    deadline = time.monotonic() + 10
    while _requests_seen_by_server(server)["/auth/revocations"] < 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    seen = _requests_seen_by_server(server)
    assert seen["/.well-known/openid-configuration"] == 1, seen
    assert seen["/.well-known/jwks.json"] == 1, seen
    assert seen["/auth/revocations"] == 1, seen
    api_paths = {
        path
        for path in seen
        if path not in ("/auth/register", "/auth/login", "/auth/logout-all", "/readyz")
    }
    assert api_paths == set(SERVER_PATHS), seen


def test_operator_disabling_a_user_denies_tokens_by_user_not_before(make_server: Any) -> None:
    server: Server = make_server(revocation_feed_secret=FEED_SECRET)
    api, _, feed = _api(server)
    try:
        with server.client() as client:
            user = server.register_and_login(client, "carol")
        token = user["access_token"]
        assert api.get("/orders", headers=_bearer(token)).status_code == 200
        assert server.cli("users", "disable", "carol").returncode == 0
        started = time.monotonic()
        while api.get("/orders", headers=_bearer(token)).status_code == 200:
            assert time.monotonic() - started < 5.0
            time.sleep(0.01)
        assert wait_until(lambda: feed.denylist.sizes()["sub"] == 1)
        refused = api.get("/orders", headers=_bearer(token))
        assert refused.json()["code"] == "jwt_revoked"
    finally:
        feed.stop()


def test_revoking_one_access_token_by_rfc_7009_reaches_the_api(make_server: Any) -> None:
    server: Server = make_server(revocation_feed_secret=FEED_SECRET)
    api, _, feed = _api(server)
    try:
        with server.client() as client:
            user = server.register_and_login(client, "dave")
            again = client.post(
                "/auth/login", json={"username": "dave", "password": "correct horse battery"}
            ).json()
            assert (
                client.post("/oauth/revoke", data={"token": user["access_token"]}).status_code
                == 200
            )
        started = time.monotonic()
        while api.get("/orders", headers=_bearer(user["access_token"])).status_code == 200:
            assert time.monotonic() - started < 1.0
            time.sleep(0.01)
        assert feed.denylist.sizes()["jti"] == 1
        # the user's other session is untouched
        assert api.get("/orders", headers=_bearer(again["access_token"])).status_code == 200
    finally:
        feed.stop()


def test_verifying_a_server_token_with_the_sync_api(make_server: Any) -> None:
    server: Server = make_server()
    with server.client() as client:
        user = server.register_and_login(client, "erin")
    verifier = AccessTokenVerifier(issuer=server.url, audience=server.url)
    verified: AccessToken = verifier.verify(user["access_token"])
    assert verified.header["typ"] == "at+jwt"
    assert verified.client_id == "first-party"
    assert httpx.get(f"{server.url}/.well-known/jwks.json").status_code == 200


def test_a_resume_point_from_another_database_is_reset_by_the_server(make_server: Any) -> None:
    server: Server = make_server(revocation_feed_secret=FEED_SECRET)
    with server.client() as client:
        user = server.register_and_login(client, "frank")
        client.post("/oauth/revoke", data={"token": user["access_token"]})
    feed = RevocationFeed(server.url, token=FEED_SECRET)
    feed.denylist.last_id = 10**9  # an id this server never gave
    feed.start()
    try:
        assert feed.wait_synced(10), feed.last_error
        assert feed.resets == 1
        assert feed.denylist.sizes()["jti"] == 1  # replayed from the start after the reset
    finally:
        feed.stop()

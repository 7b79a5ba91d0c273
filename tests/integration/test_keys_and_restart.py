"""Keys: published JWKS, rotation with a verifier that keeps working, interop peers,
and a restart that keeps users, sessions and keys."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import jwcrypto.jwk
import jwcrypto.jwt
import jwt as pyjwt

from tokensmith.jose import ClaimsPolicy, JWKSet
from tokensmith.jose import jwt as ts_jwt

from .server_process import Server


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class CachingVerifier:
    """What a resource server does: verify with a cached JWKS, refetch on an unknown kid."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.jwks = self.fetch()
        self.fetches = 1

    def fetch(self) -> JWKSet:
        response = httpx.get(f"{self.server.url}/.well-known/jwks.json")
        assert response.status_code == 200
        return JWKSet.from_json(response.content, public_only=True)

    def verify(self, token: str) -> dict[str, Any]:
        kid = ts_jwt.peek(token).header.get("kid")
        if self.jwks.get(kid) is None:
            self.jwks = self.fetch()
            self.fetches += 1
        policy = ClaimsPolicy(
            issuer=self.server.url, audience=self.server.url, typ="at+jwt", now=self.server.now
        )
        return dict(ts_jwt.decode(token, self.jwks, policy=policy).claims)


def test_jwks_is_cacheable_and_public_only(server: Server) -> None:
    response = httpx.get(f"{server.url}/.well-known/jwks.json")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=3600"
    keys = response.json()["keys"]
    assert keys
    for key in keys:
        assert "d" not in key
        assert key["kty"] == "EC"
        assert key["kid"]
    meta = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    assert meta["issuer"] == server.url
    assert meta["jwks_uri"] == f"{server.url}/.well-known/jwks.json"
    rfc8414 = httpx.get(f"{server.url}/.well-known/oauth-authorization-server").json()
    assert rfc8414["issuer"] == server.url


def test_access_tokens_are_rfc9068_and_verify_with_pyjwt_and_jwcrypto(server: Server) -> None:
    with server.client() as client:
        login = server.register_and_login(client, "interop")
    token = login["access_token"]
    jwks = httpx.get(f"{server.url}/.well-known/jwks.json").json()

    header = pyjwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt"
    assert header["alg"] == "ES256"
    key = pyjwt.PyJWKSet.from_dict(jwks)[header["kid"]]
    claims = pyjwt.decode(
        token, key.key, algorithms=["ES256"], audience=server.url, issuer=server.url
    )
    for name in ("iss", "sub", "aud", "exp", "iat", "nbf", "jti", "client_id", "sid"):
        assert name in claims, name
    assert claims["client_id"] == "first-party"

    keyset = jwcrypto.jwk.JWKSet.from_json(json.dumps(jwks))
    verified = jwcrypto.jwt.JWT(jwt=token, key=keyset, algs=["ES256"])
    assert json.loads(verified.claims)["sub"] == claims["sub"]


def test_key_rotation_keeps_a_caching_verifier_working(server: Server) -> None:
    verifier = CachingVerifier(server)
    before_kids = {key.kid for key in verifier.jwks}
    assert len(before_kids) >= 2, "the next key is published before it signs"
    server.advance(3601)  # the next key has now been published one JWKS lifetime
    with server.client() as client:
        old = server.register_and_login(client, "rotor")
    old_kid = ts_jwt.peek(old["access_token"]).header["kid"]
    assert verifier.verify(old["access_token"])["sub"]
    rotated = server.cli("keys", "rotate")
    assert rotated.returncode == 0, rotated.stderr
    listing = server.cli("keys", "list", "--json")
    states = {
        json.loads(line)["kid"]: json.loads(line)["state"] for line in listing.stdout.splitlines()
    }
    new_kid = next(kid for kid, state in states.items() if state == "current")
    assert new_kid != old_kid
    assert states[old_kid] == "previous"

    # the running server picks the rotation up at its next key-maintenance tick
    with server.client() as client:
        for _ in range(200):
            fresh = client.post(
                "/auth/login", json={"username": "rotor", "password": "correct horse battery"}
            ).json()
            if ts_jwt.peek(fresh["access_token"]).header["kid"] == new_kid:
                break
            time.sleep(0.05)  # waits for the 1 s maintenance tick; no sleeping for expiry
        else:
            raise AssertionError("the server never signed with the rotated key")
    assert new_kid in before_kids  # the verifier's cached JWKS already had it
    assert verifier.verify(fresh["access_token"])["sub"]
    assert verifier.fetches == 1
    assert verifier.verify(old["access_token"])["sub"]  # the previous key still verifies
    published = {k["kid"] for k in httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"]}
    assert {old_kid, new_kid} <= published


def test_restart_keeps_users_sessions_and_keys(server: Server) -> None:
    with server.client() as client:
        login = server.register_and_login(client, "phoenix")
    jwks_before = httpx.get(f"{server.url}/.well-known/jwks.json").json()
    server.restart()
    jwks_after = httpx.get(f"{server.url}/.well-known/jwks.json").json()
    assert jwks_after == jwks_before
    with server.client() as client:
        assert client.get("/userinfo", headers=_bearer(login["access_token"])).status_code == 200
        refreshed = client.post("/auth/refresh", json={"refresh_token": login["refresh_token"]})
        assert refreshed.status_code == 200
        again = client.post(
            "/auth/login", json={"username": "phoenix", "password": "correct horse battery"}
        )
        assert again.status_code == 200
    assert server.starts == 2
    mode = (server.data_dir / "master.key").stat().st_mode & 0o777
    assert mode == 0o600

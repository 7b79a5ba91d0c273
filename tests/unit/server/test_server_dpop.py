"""DPoP over HTTP at the auth server (RFC 9449, issue 9), in process: the ``DPoP`` header
at /auth/login, /auth/refresh and /oauth/token, the error shapes (400 at the token
endpoints, 401 with ``WWW-Authenticate: DPoP`` at /userinfo), ``DPoP-Nonce``, ``htu``
checked against the issuer URL (never the Host header), discovery, the admin API's
``dpop`` mode, and garbage proofs never answering 500."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tokensmith.issuer.config import Argon2Params
from tokensmith.issuer.passwords import Argon2Hasher
from tokensmith.issuer.service import Issuer
from tokensmith.jose import JWK, jwt
from tokensmith.jose.dpop import make_proof
from tokensmith.server import create_app
from tokensmith.server.compose import issuer_config
from tokensmith.settings import Settings, load_settings
from tokensmith.store import memory_stores

pytestmark = pytest.mark.anyio

ISSUER = "http://127.0.0.1:8000"
FORM = {"content-type": "application/x-www-form-urlencoded"}
CREDENTIALS = {"username": "alice", "password": "correct horse"}


async def _serve(settings: Settings) -> AsyncIterator[FastAPI]:
    stores = memory_stores()
    hasher = Argon2Hasher(Argon2Params(time_cost=1, memory_cost=1024, parallelism=1))
    issuer = await Issuer.open(issuer_config(settings), stores, master_key=bytes(32), hasher=hasher)
    await issuer.add_user(username="alice", password="correct horse", admin=True)
    app = create_app(settings, issuer=issuer)
    async with app.router.lifespan_context(app):
        yield app
    await issuer.close()
    await stores.close()


@pytest.fixture
async def app() -> AsyncIterator[FastAPI]:
    async for served in _serve(load_settings()):
        yield served


@pytest.fixture
async def nonce_app() -> AsyncIterator[FastAPI]:
    async for served in _serve(load_settings(dpop_nonce=True)):
        yield served


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        yield client


@pytest.fixture
def key() -> JWK:
    return JWK.generate("ES256")


def dpop(key: JWK, path: str, *, method: str = "POST", **extra: Any) -> dict[str, str]:
    import time

    proof = make_proof(key, htm=method, htu=ISSUER + path, iat=int(time.time()), **extra)
    return {"DPoP": proof}


async def _login(http: httpx.AsyncClient, key: JWK) -> dict[str, Any]:
    response = await http.post("/auth/login", json=CREDENTIALS, headers=dpop(key, "/auth/login"))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_login_with_dpop_answers_a_bound_token(http: httpx.AsyncClient, key: JWK) -> None:
    body = await _login(http, key)
    assert body["token_type"] == "DPoP"
    assert jwt.peek(body["access_token"]).claims["cnf"] == {"jkt": key.thumbprint()}
    plain = await http.post("/auth/login", json=CREDENTIALS)
    assert plain.json()["token_type"] == "Bearer"
    assert "DPoP-Nonce" not in plain.headers


async def test_bad_proof_at_login_is_400_invalid_dpop_proof(
    http: httpx.AsyncClient, key: JWK
) -> None:
    wrong_path = await http.post(
        "/auth/login", json=CREDENTIALS, headers=dpop(key, "/auth/refresh")
    )
    assert wrong_path.status_code == 400
    assert wrong_path.json()["error"] == "invalid_dpop_proof"
    assert "message" in wrong_path.json()


async def test_htu_is_the_issuer_url_not_the_host_header(http: httpx.AsyncClient, key: JWK) -> None:
    import time

    proof = make_proof(key, htm="POST", htu="http://evil.example/auth/login", iat=int(time.time()))
    response = await http.post(
        "/auth/login",
        json=CREDENTIALS,
        headers={"DPoP": proof, "Host": "evil.example"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_dpop_proof"


async def test_two_dpop_headers_refused(http: httpx.AsyncClient, key: JWK) -> None:
    one = dpop(key, "/auth/login")["DPoP"]
    two = dpop(key, "/auth/login")["DPoP"]
    response = await http.post(
        "/auth/login", json=CREDENTIALS, headers=[("DPoP", one), ("DPoP", two)]
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_dpop_proof"


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "x",
        "a.b.c",
        "e30.e30.",
        "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6Im5vbmUifQ.e30.",
        "." * 5000,
        "\u00e9t\u00e9",
    ],
)
async def test_garbage_proofs_are_4xx_never_500(http: httpx.AsyncClient, garbage: str) -> None:
    for path, kwargs in (
        ("/auth/login", {"json": CREDENTIALS}),
        ("/auth/refresh", {"json": {"refresh_token": "A" * 43}}),
        ("/oauth/token", {"content": "grant_type=refresh_token&refresh_token=" + "A" * 43}),
    ):
        headers: dict[str, Any] = {"DPoP": garbage.encode("utf-8")}
        if path == "/oauth/token":
            headers.update(FORM)
        response = await http.post(path, headers=headers, **kwargs)
        assert 400 <= response.status_code < 500, (path, garbage, response.text)
        if garbage:
            assert response.json()["error"] in ("invalid_dpop_proof", "invalid_grant")


async def test_refresh_endpoints_keep_the_binding(http: httpx.AsyncClient, key: JWK) -> None:
    body = await _login(http, key)
    other = JWK.generate("ES256")
    missing = await http.post("/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert (missing.status_code, missing.json()["error"]) == (400, "invalid_dpop_proof")
    form = f"grant_type=refresh_token&refresh_token={body['refresh_token']}"
    stranger = await http.post(
        "/oauth/token", content=form, headers={**FORM, **dpop(other, "/oauth/token")}
    )
    assert stranger.status_code == 400
    assert stranger.json()["error"] == "invalid_grant"
    assert "error_description" in stranger.json()
    owner = await http.post(
        "/oauth/token", content=form, headers={**FORM, **dpop(key, "/oauth/token")}
    )
    assert owner.status_code == 200, owner.text
    assert owner.json()["token_type"] == "DPoP"
    again = await http.post(
        "/auth/refresh",
        json={"refresh_token": owner.json()["refresh_token"]},
        headers=dpop(key, "/auth/refresh"),
    )
    assert again.status_code == 200
    assert again.json()["token_type"] == "DPoP"


async def test_userinfo_with_a_bound_token(http: httpx.AsyncClient, key: JWK) -> None:
    token = (await _login(http, key))["access_token"]
    as_bearer = await http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert as_bearer.status_code == 401
    challenge = as_bearer.headers["www-authenticate"]
    assert challenge.startswith("DPoP ")
    assert 'error="invalid_token"' in challenge
    assert 'algs="ES256' in challenge
    proof = dpop(key, "/userinfo", method="GET", access_token=token)
    ok = await http.get("/userinfo", headers={"Authorization": f"DPoP {token}", **proof})
    assert ok.status_code == 200, ok.text
    assert ok.json()["preferred_username"] == "alice"
    replay = await http.get("/userinfo", headers={"Authorization": f"DPoP {token}", **proof})
    assert replay.status_code == 401
    assert replay.json()["error"] == "invalid_dpop_proof"
    assert 'error="invalid_dpop_proof"' in replay.headers["www-authenticate"]
    no_proof = await http.get("/userinfo", headers={"Authorization": f"DPoP {token}"})
    assert no_proof.status_code == 401
    assert no_proof.json()["error"] == "invalid_dpop_proof"


async def test_unbound_token_keeps_working_as_bearer(http: httpx.AsyncClient) -> None:
    token = (await http.post("/auth/login", json=CREDENTIALS)).json()["access_token"]
    response = await http.get("/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


async def test_logout_all_with_a_bound_token(http: httpx.AsyncClient, key: JWK) -> None:
    token = (await _login(http, key))["access_token"]
    headers = {"Authorization": f"DPoP {token}"}
    ended = await http.post(
        "/auth/logout-all",
        headers={**headers, **dpop(key, "/auth/logout-all", access_token=token)},
    )
    assert ended.status_code == 200, ended.text
    assert ended.json() == {"revoked": 1}
    after = await http.get(
        "/userinfo",
        headers={**headers, **dpop(key, "/userinfo", method="GET", access_token=token)},
    )
    assert after.status_code == 401
    assert after.json()["error"] == "invalid_token"


async def test_nonce_challenge_and_success_header(nonce_app: FastAPI, key: JWK) -> None:
    transport = httpx.ASGITransport(app=nonce_app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as http:
        first = await http.post("/auth/login", json=CREDENTIALS, headers=dpop(key, "/auth/login"))
        assert first.status_code == 400
        assert first.json()["error"] == "use_dpop_nonce"
        nonce = first.headers["DPoP-Nonce"]
        second = await http.post(
            "/auth/login", json=CREDENTIALS, headers=dpop(key, "/auth/login", nonce=nonce)
        )
        assert second.status_code == 200, second.text
        assert second.headers["DPoP-Nonce"] == nonce
        token = second.json()["access_token"]
        challenged = await http.get(
            "/userinfo",
            headers={
                "Authorization": f"DPoP {token}",
                **dpop(key, "/userinfo", method="GET", access_token=token),
            },
        )
        assert challenged.status_code == 401
        assert 'error="use_dpop_nonce"' in challenged.headers["www-authenticate"]
        assert challenged.headers["DPoP-Nonce"] == nonce
        form = f"grant_type=refresh_token&refresh_token={second.json()['refresh_token']}"
        token_endpoint = await http.post(
            "/oauth/token", content=form, headers={**FORM, **dpop(key, "/oauth/token")}
        )
        assert token_endpoint.status_code == 400
        assert token_endpoint.json()["error"] == "use_dpop_nonce"
        assert token_endpoint.headers["DPoP-Nonce"] == nonce


async def test_discovery_announces_dpop(http: httpx.AsyncClient) -> None:
    metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert "ES256" in metadata["dpop_signing_alg_values_supported"]
    assert "HS256" not in metadata["dpop_signing_alg_values_supported"]


async def test_admin_api_client_dpop_mode_and_bound_client_credentials(
    http: httpx.AsyncClient, key: JWK
) -> None:
    admin = (await http.post("/auth/login", json=CREDENTIALS)).json()["access_token"]
    auth = {"Authorization": f"Bearer {admin}"}
    bad = await http.post("/admin/clients", json={"name": "svc-x", "dpop": "maybe"}, headers=auth)
    assert (bad.status_code, bad.json()["error"]) == (400, "invalid_client_metadata")
    created = await http.post(
        "/admin/clients",
        json={"name": "svc-d", "audiences": ["https://api.example"], "dpop": "required"},
        headers=auth,
    )
    assert created.status_code == 201, created.text
    assert created.json()["dpop"] == "required"
    secret = created.json()["client_secret"]
    basic = "Basic " + base64.b64encode(f"svc-d:{secret}".encode()).decode()
    form = "grant_type=client_credentials"
    refused = await http.post(
        "/oauth/token", content=form, headers={**FORM, "Authorization": basic}
    )
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_dpop_proof")
    bound = await http.post(
        "/oauth/token",
        content=form,
        headers={**FORM, "Authorization": basic, **dpop(key, "/oauth/token")},
    )
    assert bound.status_code == 200, bound.text
    assert bound.json()["token_type"] == "DPoP"
    token = bound.json()["access_token"]
    seen = await http.post(
        "/oauth/introspect",
        content=f"token={token}",
        headers={**FORM, "Authorization": basic},
    )
    assert seen.json()["token_type"] == "DPoP"
    assert seen.json()["cnf"] == {"jkt": key.thumbprint()}
    revoked = await http.post(
        "/oauth/revoke", content=f"token={token}", headers={**FORM, "Authorization": basic}
    )
    assert revoked.status_code == 200
    seen = await http.post(
        "/oauth/introspect",
        content=f"token={token}",
        headers={**FORM, "Authorization": basic},
    )
    assert seen.json() == {"active": False}


async def test_revocation_feed_takes_a_bound_token_with_its_proof(
    http: httpx.AsyncClient, key: JWK
) -> None:
    created = await http.post(
        "/auth/register", json={"username": "bob", "password": "another horse"}
    )
    assert created.status_code == 201, created.text
    login = await http.post(
        "/auth/login",
        json={"username": "bob", "password": "another horse"},
        headers=dpop(key, "/auth/login"),
    )
    token = login.json()["access_token"]
    as_bearer = await http.get("/auth/revocations", headers={"Authorization": f"Bearer {token}"})
    assert as_bearer.status_code == 401
    assert as_bearer.headers["www-authenticate"].startswith("DPoP ")
    # authenticated through the DPoP scheme: then refused only for not being an admin
    with_proof = await http.get(
        "/auth/revocations",
        headers={
            "Authorization": f"DPoP {token}",
            **dpop(key, "/auth/revocations", method="GET", access_token=token),
        },
    )
    assert (with_proof.status_code, with_proof.json()["error"]) == (403, "forbidden")

"""Issue 6: hostile client-grant, client-authentication and introspection requests are
RFC 6749 §5.2 4xx answers, never a 500. In process, real Issuer over memory stores, with
real registered clients so the authenticated paths are reached too."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokensmith.issuer.config import Argon2Params
from tokensmith.issuer.passwords import Argon2Hasher
from tokensmith.issuer.service import Issuer
from tokensmith.jose import JWK, jwt
from tokensmith.server import create_app
from tokensmith.server.compose import issuer_config
from tokensmith.settings import load_settings
from tokensmith.store import memory_stores

pytestmark = pytest.mark.anyio

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ISSUER = "http://127.0.0.1:8000"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with(secret: bytes, claims: dict[str, Any]) -> str:
    signing_input = _b64(b'{"alg":"HS256","kid":"k"}') + "." + _b64(json.dumps(claims).encode())
    tag = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(tag)


@pytest.fixture
async def served() -> AsyncIterator[tuple[FastAPI, str, JWK]]:
    settings = load_settings()
    stores = memory_stores()
    hasher = Argon2Hasher(Argon2Params(time_cost=1, memory_cost=1024, parallelism=1))
    issuer = await Issuer.open(issuer_config(settings), stores, master_key=bytes(32), hasher=hasher)
    new = await issuer.clients.create(
        name="svc-a",
        grant_types=("client_credentials", EXCHANGE),
        scopes=("s1", "s2"),
        audiences=("svc-b", "svc-c"),
    )
    key = JWK.generate("ES256", kid="k")
    await issuer.clients.create(
        name="svc-k",
        auth_method="private_key_jwt",
        audiences=("svc-b",),
        jwks={"keys": [key.public().to_dict()]},
    )
    assert new.client_secret is not None
    app = create_app(settings, issuer=issuer)
    async with app.router.lifespan_context(app):
        yield app, new.client_secret, key
    await issuer.close()
    await stores.close()


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url=ISSUER)


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def _check(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code} {response.text[:200]}"
    if response.status_code >= 400:
        body: dict[str, Any] = response.json()
        assert isinstance(body.get("error"), str), what
        assert "error_description" in body, what
    if response.status_code == 401:
        assert response.headers["www-authenticate"].startswith("Basic"), what


texts = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "svc-a",
            "svc-b",
            "svc-k",
            "a.b.c",
            "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.",
            "urn:ietf:params:oauth:token-type:access_token",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "x" * 5000,
            "\x00",
            "s1 s1",
        ]
    ),
)
forms = st.dictionaries(
    st.sampled_from(
        [
            "grant_type",
            "client_id",
            "client_secret",
            "client_assertion",
            "client_assertion_type",
            "scope",
            "audience",
            "resource",
            "subject_token",
            "subject_token_type",
            "actor_token",
            "actor_token_type",
            "requested_token_type",
            "token",
            "token_type_hint",
        ]
    ),
    texts,
    max_size=6,
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    form=forms,
    grant=st.sampled_from(["client_credentials", EXCHANGE, "refresh_token", None]),
    authorized=st.booleans(),
    path=st.sampled_from(["/oauth/token", "/oauth/introspect"]),
)
async def test_random_client_forms_never_500(
    served: tuple[FastAPI, str, JWK],
    form: dict[str, str],
    grant: str | None,
    authorized: bool,
    path: str,
) -> None:
    app, secret, _ = served
    if grant is not None:
        form = {**form, "grant_type": grant}
    headers = {"authorization": _basic("svc-a", secret)} if authorized else {}
    async with _client(app) as client:
        response = await client.post(path, data=form, headers=headers)
    _check(response, f"{path} {form!r} auth={authorized}")


@pytest.mark.parametrize(
    "header",
    [
        "Basic",
        "Basic ====",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),
        "Basic " + base64.b64encode(b"%00:%ff").decode(),
        "Basic " + base64.b64encode(("a" * 300 + ":" + "b" * 3000).encode()).decode(),
        "Bearer abc",
        "Digest x",
    ],
)
async def test_malformed_basic_credentials_are_invalid_client(
    served: tuple[FastAPI, str, JWK], header: str
) -> None:
    app, _, _ = served
    async with _client(app) as client:
        for path in ("/oauth/token", "/oauth/introspect"):
            response = await client.post(
                path,
                data={"grant_type": "client_credentials", "token": "x"},
                headers={"authorization": header},
            )
            assert response.status_code == 401, (path, header, response.text)
            assert response.json()["error"] == "invalid_client"


async def test_s1_s2_s3_hostile_client_assertions_are_invalid_client(
    served: tuple[FastAPI, str, JWK],
) -> None:
    """S1/S2/S3 for client assertions: alg none, an HMAC assertion keyed with the public
    key, an embedded jwk, a huge one, a non-object payload."""
    app, _, key = served
    public_pem = key.public().to_pem()
    claims = {"iss": "svc-k", "sub": "svc-k", "aud": ISSUER, "exp": 2**40, "jti": "j"}
    none_alg = (
        base64.urlsafe_b64encode(b'{"alg":"none"}').rstrip(b"=").decode()
        + "."
        + base64.urlsafe_b64encode(b'{"iss":"svc-k","sub":"svc-k"}').rstrip(b"=").decode()
        + "."
    )
    attacker = JWK.generate("ES256", kid="k")
    hostile = [
        none_alg,
        _hs256_with(public_pem, claims),  # S2: the public key used as an HMAC secret
        jwt.encode(claims, attacker, header={"kid": "k", "jwk": attacker.public().to_dict()}),
        "e" * 9000,
        "a.b.c",
        base64.urlsafe_b64encode(b'{"alg":"ES256"}').decode() + ".W10.AA",
    ]
    async with _client(app) as client:
        for value in hostile:
            response = await client.post(
                "/oauth/token",
                data={
                    "grant_type": "client_credentials",
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": value,
                },
            )
            assert response.status_code == 401, response.text
            assert response.json()["error"] == "invalid_client"

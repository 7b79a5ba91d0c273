"""DPoP through every adapter, with each framework's own test client: the pure ASGI
middleware (Starlette), the FastAPI dependencies, the Flask extension. (Django and DRF:
tests/unit/resource/test_resource_django.py.)"""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask, g
from resource_helpers import AUDIENCE, ISSUER, bound_token, dpop_headers, make_token
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tokensmith.jose import JWK
from tokensmith.resource import AccessTokenVerifier, DPoPNonces, DPoPOptions, VerifierOptions
from tokensmith.resource.asgi import BearerAuthMiddleware
from tokensmith.resource.fastapi import STATE_ATTRIBUTE, Authenticated
from tokensmith.resource.flask import TokenAuth


@pytest.fixture(scope="module")
def issuer_key() -> JWK:
    return JWK.generate("ES256", kid="as")


@pytest.fixture(scope="module")
def client_key() -> JWK:
    return JWK.generate("EdDSA")


def _verifier(issuer_key: JWK, nonces: DPoPNonces | None = None) -> AccessTokenVerifier:
    return AccessTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=issuer_key,
        options=VerifierOptions(dpop=DPoPOptions(nonces=nonces)),
    )


def _starlette(verifier: AccessTokenVerifier) -> Any:
    async def me(request: Request) -> JSONResponse:
        auth = request.scope["auth"]
        return JSONResponse({"sub": auth.subject, "jkt": auth.jkt})

    app = Starlette(routes=[Route("/me", me)])
    app.add_middleware(BearerAuthMiddleware, verifier=verifier)
    return TestClient(app)


def _fastapi(verifier: AccessTokenVerifier) -> Any:
    app = FastAPI()
    setattr(app.state, STATE_ATTRIBUTE, verifier)

    @app.get("/me")
    async def me(token: Authenticated) -> dict[str, Any]:
        return {"sub": token.subject, "jkt": token.jkt}

    return TestClient(app)


def _flask(verifier: AccessTokenVerifier) -> Any:
    app = Flask(__name__)
    auth = TokenAuth(app, verifier=verifier)

    @app.get("/me")
    @auth.required()
    def me() -> dict[str, Any]:
        return {"sub": g.auth.subject, "jkt": g.auth.jkt}

    return app.test_client()


ADAPTERS = {
    "asgi": (_starlette, "http://testserver/me"),
    "fastapi": (_fastapi, "http://testserver/me"),
    "flask": (_flask, "http://localhost/me"),
}


def _json(response: Any) -> Any:
    body = response.get_json() if hasattr(response, "get_json") else response.json()
    return body.get("detail", body)  # FastAPI wraps an HTTPException's body in 'detail'


def _challenges(response: Any) -> list[str]:
    headers = response.headers
    if hasattr(headers, "get_all"):  # werkzeug
        return list(headers.get_all("WWW-Authenticate"))
    return list(headers.get_list("www-authenticate"))


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_dpop_request_is_accepted_and_abuse_refused(
    adapter: str, issuer_key: JWK, client_key: JWK
) -> None:
    build, url = ADAPTERS[adapter]
    client = build(_verifier(issuer_key))
    token = bound_token(issuer_key, client_key)
    headers = dpop_headers(client_key, token, url=url)
    ok = client.get("/me", headers=headers)
    assert ok.status_code == 200, _json(ok)
    assert _json(ok) == {"sub": "user-1", "jkt": client_key.thumbprint()}

    # the same proof again: replayed
    replay = client.get("/me", headers=headers)
    assert replay.status_code == 401
    assert _json(replay)["code"] == "dpop_replayed"
    challenge = " ".join(_challenges(replay))
    assert challenge.startswith('DPoP error="invalid_dpop_proof"')
    assert 'algs="ES256 ES384 ES512 RS256 PS256 EdDSA Ed25519"' in challenge

    # the token without a proof, and with another key's proof
    no_proof = client.get("/me", headers={"Authorization": f"DPoP {token}"})
    assert _json(no_proof)["error"] == "invalid_dpop_proof"
    stolen = client.get("/me", headers=dpop_headers(JWK.generate("ES256"), token, url=url))
    assert stolen.status_code == 401
    assert _json(stolen)["code"] == "dpop_jkt_mismatch"

    # a proof for another method or URL
    post = client.get("/me", headers=dpop_headers(client_key, token, url=url, method="POST"))
    assert _json(post)["code"] == "dpop_htm_mismatch"
    other = client.get("/me", headers=dpop_headers(client_key, token, url=url + "/x"))
    assert _json(other)["code"] == "dpop_htu_mismatch"

    # the bound token as Bearer: invalid_token, in the DPoP scheme
    bearer = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert bearer.status_code == 401
    assert _json(bearer)["code"] == "jwt_sender_constrained"
    assert _challenges(bearer)[0].startswith('DPoP error="invalid_token"')

    # an unbound token with the DPoP scheme
    plain = make_token(issuer_key)
    unbound = client.get("/me", headers=dpop_headers(client_key, plain, url=url))
    assert _json(unbound)["code"] == "dpop_token_not_bound"
    assert _challenges(unbound)[0].startswith('DPoP error="invalid_token"')

    # a plain bearer token still works
    assert client.get("/me", headers={"Authorization": f"Bearer {plain}"}).status_code == 200


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_resource_nonce_challenge_then_success(
    adapter: str, issuer_key: JWK, client_key: JWK
) -> None:
    build, url = ADAPTERS[adapter]
    nonces = DPoPNonces(b"k" * 32)
    client = build(_verifier(issuer_key, nonces))
    token = bound_token(issuer_key, client_key)
    first = client.get("/me", headers=dpop_headers(client_key, token, url=url))
    assert first.status_code == 401
    assert _challenges(first)[0].startswith('DPoP error="use_dpop_nonce"')
    nonce = first.headers["DPoP-Nonce"]
    assert nonce == nonces.current(time.time())
    retry = client.get("/me", headers=dpop_headers(client_key, token, url=url, nonce=nonce))
    assert retry.status_code == 200, _json(retry)
    assert retry.headers["DPoP-Nonce"] == nonce

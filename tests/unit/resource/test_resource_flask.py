"""The Flask extension through Flask's own test client."""

from __future__ import annotations

import pytest
from flask import Flask, g
from resource_helpers import AUDIENCE, ISSUER, make_token

from tokensmith.jose import JWK
from tokensmith.resource import AccessTokenVerifier
from tokensmith.resource.flask import EXTENSION_KEY, TokenAuth, current_token


@pytest.fixture(scope="module")
def key() -> JWK:
    return JWK.generate("EdDSA", kid="ed")


@pytest.fixture
def client(key: JWK) -> object:
    app = Flask(__name__)
    auth = TokenAuth(verifier=AccessTokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=key))
    auth.init_app(app)

    @app.get("/public")
    def public() -> dict[str, object]:
        return {"token": current_token() is not None}

    @app.get("/me")
    @auth.required()
    def me() -> dict[str, object]:
        return {"sub": g.auth.subject, "same": current_token() is g.auth}

    @app.post("/orders")
    @auth.required(scopes=["orders:write"], roles=["staff"])
    def create() -> dict[str, object]:
        return {"created": True}

    assert app.extensions[EXTENSION_KEY] is auth
    return app.test_client()


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_flask_required_accepts_a_valid_token(client: object, key: JWK) -> None:
    response = client.get("/me", headers=_bearer(make_token(key)))  # type: ignore[attr-defined]
    assert response.status_code == 200
    assert response.get_json() == {"sub": "user-1", "same": True}
    assert client.get("/public").get_json() == {"token": False}  # type: ignore[attr-defined]


def test_flask_refusals_follow_rfc_6750(client: object, key: JWK) -> None:
    missing = client.get("/me")  # type: ignore[attr-defined]
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    expired = client.get("/me", headers=_bearer(make_token(key, now=1_000_000)))  # type: ignore[attr-defined]
    assert expired.status_code == 401
    assert 'error="invalid_token"' in expired.headers["WWW-Authenticate"]
    assert expired.get_json()["code"] == "jwt_expired"
    reader = make_token(key, scope="orders:read", roles=["staff"])
    refused = client.post("/orders", headers=_bearer(reader))  # type: ignore[attr-defined]
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["WWW-Authenticate"]
    writer = make_token(key, scope="orders:write", roles=["staff"])
    ok = client.post("/orders", headers=_bearer(writer))  # type: ignore[attr-defined]
    assert ok.get_json() == {"created": True}


def test_flask_extension_refuses_a_string_of_scopes(key: JWK) -> None:
    auth = TokenAuth(verifier=AccessTokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=key))
    with pytest.raises(TypeError):
        auth.required(scopes="orders:write")
    with pytest.raises(TypeError):
        TokenAuth(verifier=object())  # type: ignore[arg-type]

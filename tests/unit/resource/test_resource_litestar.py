"""The pure ASGI middleware inside Litestar, through Litestar's own test client.
Litestar reads ``scope["auth"]`` as ``request.auth``: the AccessToken lands there."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar, Request, get
from litestar.middleware import DefineMiddleware
from litestar.testing import TestClient
from resource_helpers import AUDIENCE, ISSUER, bound_token, dpop_headers, make_token

from tokensmith.jose import JWK
from tokensmith.resource import AccessToken, AccessTokenVerifier
from tokensmith.resource.asgi import BearerAuthMiddleware, MiddlewareOptions


@pytest.fixture(scope="module")
def key() -> JWK:
    return JWK.generate("ES256", kid="ls")


def _app(key: JWK) -> Litestar:
    verifier = AccessTokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=key)

    @get("/me", sync_to_thread=False)
    def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
        token = request.auth
        assert isinstance(token, AccessToken)
        return {"sub": token.subject, "scopes": sorted(token.scopes)}

    return Litestar(
        route_handlers=[me],
        middleware=[
            DefineMiddleware(
                BearerAuthMiddleware,
                verifier=verifier,
                options=MiddlewareOptions(scopes=["orders:read"]),
            )
        ],
    )


def test_litestar_app_behind_the_middleware(key: JWK) -> None:
    with TestClient(app=_app(key)) as client:
        ok = client.get("/me", headers={"Authorization": f"Bearer {make_token(key)}"})
        assert ok.status_code == 200
        assert ok.json() == {"sub": "user-1", "scopes": ["orders:read"]}
        missing = client.get("/me")
        assert missing.status_code == 401
        assert missing.headers.get_list("www-authenticate")[0] == "Bearer"
        narrow = make_token(key, scope="profile")
        refused = client.get("/me", headers={"Authorization": f"Bearer {narrow}"})
        assert refused.status_code == 403
        assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]


def test_litestar_dpop_request_behind_the_middleware(key: JWK) -> None:
    client_key = JWK.generate("ES256")
    token = bound_token(key, client_key)
    with TestClient(app=_app(key)) as client:
        headers = dpop_headers(client_key, token, url="http://testserver.local/me")
        ok = client.get("/me", headers=headers)
        assert ok.status_code == 200, ok.text
        replayed = client.get("/me", headers=headers)
        assert replayed.status_code == 401
        assert replayed.headers["www-authenticate"].startswith('DPoP error="invalid_dpop_proof"')
        as_bearer = client.get("/me", headers={"Authorization": f"Bearer {token}"})
        assert as_bearer.status_code == 401
        assert as_bearer.json()["code"] == "jwt_sender_constrained"

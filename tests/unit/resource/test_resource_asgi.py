"""The pure ASGI middleware and the FastAPI dependencies, through each framework's own
test client (Starlette's and FastAPI's TestClient)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from resource_helpers import AUDIENCE, ISSUER, make_token
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tokensmith.jose import JWK
from tokensmith.resource import AccessToken, AccessTokenVerifier, VerifierOptions
from tokensmith.resource.asgi import BearerAuthMiddleware, MiddlewareOptions
from tokensmith.resource.fastapi import Authenticated, require_roles, require_scopes


@pytest.fixture(scope="module")
def key() -> JWK:
    return JWK.generate("ES256", kid="k1")


@pytest.fixture(scope="module")
def verifier(key: JWK) -> AccessTokenVerifier:
    return AccessTokenVerifier(issuer=ISSUER, audience=AUDIENCE, keys=key)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _starlette(
    verifier: AccessTokenVerifier, options: MiddlewareOptions | None = None
) -> Starlette:
    async def me(request: Request) -> JSONResponse:
        auth = request.scope["auth"]
        return JSONResponse({"sub": auth.subject if auth else None})

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True, "checked": request.scope.get("auth") is not None})

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_json({"sub": websocket.scope["auth"].subject})
        await websocket.close()

    app = Starlette(routes=[Route("/me", me), Route("/healthz", health), WebSocketRoute("/ws", ws)])
    app.add_middleware(BearerAuthMiddleware, verifier=verifier, options=options)
    return app


def test_middleware_puts_the_token_on_scope_auth(verifier: AccessTokenVerifier, key: JWK) -> None:
    client = TestClient(_starlette(verifier))
    response = client.get("/me", headers=_bearer(make_token(key)))
    assert response.status_code == 200
    assert response.json() == {"sub": "user-1"}


def test_middleware_401_without_token_has_a_bare_bearer_challenge(
    verifier: AccessTokenVerifier,
) -> None:
    client = TestClient(_starlette(verifier, MiddlewareOptions(realm="orders")))
    response = client.get("/me")
    assert response.status_code == 401
    # the bare Bearer challenge, and the DPoP one (RFC 9449 §7.1: both schemes accepted)
    assert response.headers.get_list("www-authenticate") == [
        'Bearer realm="orders"',
        'DPoP realm="orders", algs="ES256 ES384 ES512 RS256 PS256 EdDSA Ed25519"',
    ]
    for other in ("Basic dXNlcjpwdw==", "Bearer", "Bearer a b", "Bearer " + "x" * 20000):
        answer = client.get("/me", headers={"Authorization": other})
        assert answer.status_code in (400, 401), other


def test_middleware_401_invalid_token_per_rfc_6750(verifier: AccessTokenVerifier, key: JWK) -> None:
    client = TestClient(_starlette(verifier))
    expired = make_token(key, now=1_000_000)
    response = client.get("/me", headers=_bearer(expired))
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="invalid_token", error_description="')
    assert response.json()["code"] == "jwt_expired"
    forged = make_token(JWK.generate("ES256", kid="k1"))
    assert client.get("/me", headers=_bearer(forged)).json()["code"] == "jws_invalid_signature"


def test_middleware_403_insufficient_scope(verifier: AccessTokenVerifier, key: JWK) -> None:
    client = TestClient(_starlette(verifier, MiddlewareOptions(scopes=["orders:write"])))
    response = client.get("/me", headers=_bearer(make_token(key, scope="orders:read")))
    assert response.status_code == 403
    challenge = response.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert 'scope="orders:write"' in challenge
    ok = client.get("/me", headers=_bearer(make_token(key, scope="orders:write")))
    assert ok.status_code == 200


def test_middleware_excluded_paths_and_optional_mode(
    verifier: AccessTokenVerifier, key: JWK
) -> None:
    client = TestClient(_starlette(verifier, MiddlewareOptions(exclude_paths=["/healthz"])))
    assert client.get("/healthz").json() == {"ok": True, "checked": False}
    assert client.get("/me").status_code == 401
    optional = TestClient(_starlette(verifier, MiddlewareOptions(optional=True)))
    assert optional.get("/me").json() == {"sub": None}
    assert optional.get("/me", headers=_bearer("not.a.token")).status_code == 401


def test_middleware_refuses_two_authorization_headers(
    verifier: AccessTokenVerifier, key: JWK
) -> None:
    client = TestClient(_starlette(verifier))
    token = make_token(key)
    response = client.get(
        "/me", headers=[("Authorization", f"Bearer {token}"), ("Authorization", "Bearer x")]
    )
    assert response.status_code == 400
    assert 'error="invalid_request"' in response.headers["www-authenticate"]


def test_middleware_guards_websockets(verifier: AccessTokenVerifier, key: JWK) -> None:
    client = TestClient(_starlette(verifier))
    with client.websocket_connect("/ws", headers=_bearer(make_token(key))) as ws:
        assert ws.receive_json() == {"sub": "user-1"}
    with pytest.raises(WebSocketDisconnect) as closed, client.websocket_connect("/ws"):
        pass
    assert closed.value.code == 1008


def test_middleware_answers_503_when_keys_are_unavailable(key: JWK) -> None:
    down = AccessTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys="http://127.0.0.1:9/jwks",
        options=VerifierOptions(),
    )
    client = TestClient(_starlette(down))
    response = client.get("/me", headers=_bearer(make_token(key)))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["code"] == "jwks_unavailable"


# ---- FastAPI dependencies -------------------------------------------------------------------


def _fastapi(verifier: AccessTokenVerifier, *, middleware: bool) -> FastAPI:
    app = FastAPI()
    if middleware:
        app.add_middleware(
            BearerAuthMiddleware, verifier=verifier, options=MiddlewareOptions(optional=True)
        )
    else:
        app.state.tokensmith_verifier = verifier

    @app.get("/public")
    async def public() -> dict[str, bool]:
        return {"public": True}

    @app.get("/me")
    async def me(token: Authenticated) -> dict[str, str | None]:
        return {"sub": token.subject}

    @app.post("/orders", dependencies=[require_scopes("orders:write")])
    async def create() -> dict[str, bool]:
        return {"created": True}

    admin_only = require_roles("admin")

    @app.delete("/orders")
    async def delete(token: AccessToken = admin_only) -> dict[str, str | None]:
        return {"deleted_by": token.subject}

    return app


@pytest.mark.parametrize("middleware", [True, False])
def test_fastapi_dependencies(verifier: AccessTokenVerifier, key: JWK, middleware: bool) -> None:
    client = TestClient(_fastapi(verifier, middleware=middleware))
    assert client.get("/public").status_code == 200
    missing = client.get("/me")
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer, DPoP algs=")
    reader = make_token(key, scope="orders:read", roles=["user"])
    assert client.get("/me", headers=_bearer(reader)).json() == {"sub": "user-1"}
    refused = client.post("/orders", headers=_bearer(reader))
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    writer = make_token(key, scope="orders:read orders:write", roles=["admin"])
    assert client.post("/orders", headers=_bearer(writer)).json() == {"created": True}
    assert client.delete("/orders", headers=_bearer(reader)).status_code == 403
    assert client.delete("/orders", headers=_bearer(writer)).json() == {"deleted_by": "user-1"}
    bad = client.get("/me", headers=_bearer(make_token(key, aud="other")))
    assert bad.status_code == 401
    assert 'error="invalid_token"' in bad.headers["www-authenticate"]


def test_fastapi_dependency_without_middleware_or_verifier_is_a_configuration_error() -> None:
    app = FastAPI()

    @app.get("/me")
    async def me(token: Authenticated) -> dict[str, str]:
        return {}

    with pytest.raises(RuntimeError, match="BearerAuthMiddleware"):
        TestClient(app).get("/me")

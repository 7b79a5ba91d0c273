"""A small auth server and API for the client tests, as an ASGI app (Starlette) and a
WSGI app (Flask), so httpx's own transports carry the requests: the proofs are checked
for real (tokensmith.jose.dpop at the token endpoint, the resource verifier at the API).
Time comes from one movable clock."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from tokensmith.jose import JWK, dpop, jwt
from tokensmith.jose.errors import DPoPError
from tokensmith.resource import (
    AccessTokenVerifier,
    DPoPNonces,
    DPoPOptions,
    VerifierOptions,
)

ISSUER = "https://id.example"
AUDIENCE = "api"


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class MiniAuthServer:
    """Token endpoints (/auth/login, /auth/refresh JSON; /oauth/token form) issuing
    DPoP-bound tokens, with server nonces; counts what it saw."""

    clock: Clock
    ttl: int = 300
    require_nonce: bool = True
    key: JWK = field(default_factory=lambda: JWK.generate("ES256", kid="as"))
    nonces: DPoPNonces = field(default_factory=lambda: DPoPNonces(b"a" * 32))
    refresh: dict[str, str] = field(default_factory=dict)  # refresh token -> jkt
    seen_jti: set[str] = field(default_factory=set)
    calls: list[tuple[str, int]] = field(default_factory=list)

    def handle(
        self, method: str, url: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        path = url.split("://", 1)[1].partition("/")[2].partition("?")[0]
        status, extra, payload = self._handle("/" + path, method, url, headers, body)
        self.calls.append(("/" + path, status))
        extra = {"DPoP-Nonce": self.nonces.current(self.clock()), **extra}
        return status, extra, payload

    def _handle(
        self, path: str, method: str, url: str, headers: Any, body: bytes
    ) -> tuple[int, dict[str, str], Any]:
        proof = headers.get("DPoP")
        if proof is None:
            return 400, {}, {"error": "invalid_dpop_proof", "error_description": "no proof"}
        now = self.clock()
        try:
            checked = dpop.verify_proof(
                proof,
                htm=method,
                htu=url,
                now=now,
                nonce=self.nonces.accepted(now) if self.require_nonce else None,
            )
        except DPoPError as exc:
            error = "use_dpop_nonce" if exc.code == "use_dpop_nonce" else "invalid_dpop_proof"
            return 400, {}, {"error": error, "error_description": exc.message}
        if checked.jti in self.seen_jti:
            return 400, {}, {"error": "invalid_dpop_proof", "error_description": "replayed"}
        self.seen_jti.add(checked.jti)
        if path == "/auth/login":
            return 200, {}, self._issue(checked.jkt)
        if path == "/auth/refresh":
            presented = json.loads(body)["refresh_token"]
        elif path == "/oauth/token":
            form = dict(parse_qsl(body.decode()))
            if form.get("grant_type") != "refresh_token":
                return 400, {}, {"error": "unsupported_grant_type"}
            presented = form["refresh_token"]
        else:
            return 404, {}, {"error": "not_found"}
        if self.refresh.pop(presented, None) != checked.jkt:
            return 400, {}, {"error": "invalid_grant"}
        return 200, {}, self._issue(checked.jkt)

    def _issue(self, jkt: str) -> dict[str, Any]:
        now = int(self.clock())
        claims = {
            "iss": ISSUER, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + self.ttl,
            "jti": secrets.token_urlsafe(8), "cnf": {"jkt": jkt},
        }  # fmt: skip
        refresh = secrets.token_urlsafe(16)
        self.refresh[refresh] = jkt
        return {
            "access_token": jwt.encode(claims, self.key, typ="at+jwt"),
            "token_type": "DPoP",
            "expires_in": self.ttl,
            "refresh_token": refresh,
        }

    def verifier(self, *, nonces: DPoPNonces | None = None) -> AccessTokenVerifier:
        return AccessTokenVerifier(
            issuer=ISSUER,
            audience=AUDIENCE,
            keys=self.key,
            options=VerifierOptions(now=self.clock, dpop=DPoPOptions(nonces=nonces)),
        )


def asgi_app(server: MiniAuthServer, verifier: AccessTokenVerifier) -> Any:
    """Starlette: the token endpoints and GET /api/me behind BearerAuthMiddleware."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from tokensmith.resource.asgi import BearerAuthMiddleware, MiddlewareOptions

    async def token(request: Request) -> JSONResponse:
        status, headers, payload = server.handle(
            request.method, str(request.url), request.headers, await request.body()
        )
        return JSONResponse(payload, status_code=status, headers=headers)

    async def me(request: Request) -> JSONResponse:
        auth = request.scope["auth"]
        return JSONResponse({"sub": auth.subject, "jkt": auth.jkt})

    app = Starlette(
        routes=[
            Route("/auth/login", token, methods=["POST"]),
            Route("/auth/refresh", token, methods=["POST"]),
            Route("/oauth/token", token, methods=["POST"]),
            Route("/api/me", me),
        ]
    )
    app.add_middleware(
        BearerAuthMiddleware,
        verifier=verifier,
        options=MiddlewareOptions(exclude_paths=("/auth/", "/oauth/")),
    )
    return app


def wsgi_app(server: MiniAuthServer, verifier: AccessTokenVerifier) -> Any:
    """Flask: the same endpoints, GET /api/me behind the Flask extension."""
    from flask import Flask, g, jsonify, request

    from tokensmith.resource.flask import TokenAuth

    app = Flask(__name__)
    auth = TokenAuth(app, verifier=verifier)

    def token() -> Any:
        status, headers, payload = server.handle(
            request.method, request.url, request.headers, request.get_data()
        )
        response = jsonify(payload)
        response.status_code = status
        response.headers.update(headers)
        return response

    for path in ("/auth/login", "/auth/refresh", "/oauth/token"):
        app.add_url_rule(path, path, token, methods=["POST"])

    @app.get("/api/me")
    @auth.required()
    def me() -> Any:
        return {"sub": g.auth.subject, "jkt": g.auth.jkt}

    return app

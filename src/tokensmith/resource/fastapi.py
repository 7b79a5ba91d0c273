"""FastAPI dependencies. Imports FastAPI; import this module only in FastAPI apps.

With the middleware (``app.add_middleware(BearerAuthMiddleware, verifier=v,
options=MiddlewareOptions(optional=True))``) the dependencies read ``scope["auth"]``;
without it, set ``app.state.tokensmith_verifier = v`` and they verify the header
themselves. ::

    @app.get("/orders")
    async def orders(token: Authenticated): ...

    @app.post("/orders", dependencies=[require_scopes("orders:write")])
    async def create(): ...

    @app.delete("/orders/{id}")
    async def delete(token: AccessToken = require_roles("admin")): ...

    # a high-risk route: also ask the auth server (VerifierOptions.introspection)
    @app.post("/payments", dependencies=[require_active()])
    async def pay(): ...
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response

from tokensmith.jose.errors import JoseError

from .asgi import VERIFIER_SCOPE_KEY
from .challenge import challenge_for
from .errors import MissingTokenError
from .request import asgi_parts, read_credentials
from .verifier import AccessToken, AccessTokenVerifier, check_access

STATE_ATTRIBUTE = "tokensmith_verifier"


def _http_error(exc: JoseError, request: Request) -> HTTPException:
    verifier = _verifier_of(request)
    dpop = None
    if verifier is not None:
        dpop = verifier.dpop_challenge(request.headers.get("authorization"))
    answer = challenge_for(exc, dpop=dpop)
    headers: dict[str, str] = {}
    for name, value in answer.headers:
        # Two challenges (Bearer and DPoP) share one header line, comma-joined (RFC 9110).
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return HTTPException(answer.status, detail=answer.body, headers=headers)


def _verifier_of(request: Request) -> AccessTokenVerifier | None:
    found = request.scope.get(VERIFIER_SCOPE_KEY) or getattr(
        request.app.state, STATE_ATTRIBUTE, None
    )
    return found if isinstance(found, AccessTokenVerifier) else None


async def current_token(request: Request, response: Response) -> AccessToken:
    """The request's verified access token (401/403/503 per RFC 6750 otherwise)."""
    found = request.scope.get("auth")
    if isinstance(found, AccessToken):
        return found
    verifier = getattr(request.app.state, STATE_ATTRIBUTE, None)
    try:
        if verifier is None:
            if "auth" in request.scope:  # the middleware ran and found no token
                raise MissingTokenError("no bearer or DPoP token")
            raise RuntimeError(
                "no token verified: add BearerAuthMiddleware or set "
                f"app.state.{STATE_ATTRIBUTE} to an AccessTokenVerifier"
            )
        if not isinstance(verifier, AccessTokenVerifier):
            raise TypeError(f"app.state.{STATE_ATTRIBUTE} must be an AccessTokenVerifier")
        token = await verifier.verify_request_async(asgi_parts(request.scope))
    except JoseError as exc:
        raise _http_error(exc, request) from None
    if token.jkt is not None:
        nonce = verifier.dpop_nonce()
        if nonce is not None:
            response.headers["DPoP-Nonce"] = nonce
    request.scope["auth"] = token
    return token


#: ``token: Authenticated`` in a route's signature: the verified access token.
Authenticated = Annotated[AccessToken, Depends(current_token)]


def require_scopes(*scopes: str) -> Any:
    """A dependency: the token must carry every scope (403 ``insufficient_scope``)."""

    async def dependency(request: Request, token: Authenticated) -> AccessToken:
        try:
            check_access(token, scopes=scopes)
        except JoseError as exc:
            raise _http_error(exc, request) from None
        return token

    return Depends(dependency)


def require_roles(*roles: str) -> Any:
    """A dependency: the token must carry every role (403 ``insufficient_scope``)."""

    async def dependency(request: Request, token: Authenticated) -> AccessToken:
        try:
            check_access(token, roles=roles)
        except JoseError as exc:
            raise _http_error(exc, request) from None
        return token

    return Depends(dependency)


def require_active() -> Any:
    """A dependency for high-risk routes: the auth server must confirm, by introspection
    (RFC 7662), that the token is still active (401 ``invalid_token`` if not, 503 when it
    cannot answer). Needs ``VerifierOptions(introspection=Introspector(...))``."""

    async def dependency(request: Request, token: Authenticated) -> AccessToken:
        verifier = _verifier_of(request)
        if verifier is None or verifier.introspector is None:
            raise RuntimeError("require_active() needs VerifierOptions(introspection=...)")
        raw, _ = read_credentials(asgi_parts(request.scope), public_url=None)
        try:
            await verifier.introspector.check_async(raw, token.claims)
        except JoseError as exc:
            raise _http_error(exc, request) from None
        return token

    return Depends(dependency)


__all__ = [
    "STATE_ATTRIBUTE",
    "Authenticated",
    "current_token",
    "require_active",
    "require_roles",
    "require_scopes",
]

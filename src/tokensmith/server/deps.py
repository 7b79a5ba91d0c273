"""Request-scoped helpers: the Issuer, the request context, the bearer token."""

from __future__ import annotations

import hmac

from fastapi import Request

from ..issuer.dpop import DPoPRequest
from ..issuer.errors import AuthError
from ..issuer.service import AccessClaims, Issuer, RequestContext
from ..settings import Settings


def issuer_of(request: Request) -> Issuer:
    issuer: Issuer | None = getattr(request.app.state, "issuer", None)
    if issuer is None:
        raise AuthError("not_ready", "the server is starting or stopping")
    return issuer


def settings_of(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_ip(request: Request) -> str | None:
    if settings_of(request).trust_forwarded:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64] or None
    return request.client.host if request.client else None


def context(request: Request) -> RequestContext:
    agent = request.headers.get("user-agent")
    return RequestContext(ip=client_ip(request), user_agent=agent[:256] if agent else None)


def bearer_token(request: Request) -> str:
    """The token of ``Authorization: Bearer ...``; 401 with a Bearer challenge otherwise."""
    header = request.headers.get("authorization")
    if not header:
        raise AuthError("unauthorized", "an access token is required (Authorization: Bearer)")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        raise AuthError("invalid_token", "the Authorization header is not 'Bearer <token>'")
    return token


def dpop_request(request: Request) -> DPoPRequest:
    """The request's ``DPoP`` headers, method and public URL (RFC 9449 §4.3: ``htu`` is
    compared with the issuer URL plus the path, never with the request's ``Host``).
    Without a ``DPoP`` header the URL is left empty: only a proof's check reads it."""
    proofs = tuple(request.headers.getlist("dpop"))
    url = settings_of(request).issuer_url.rstrip("/") + request.url.path if proofs else ""
    return DPoPRequest(proofs=proofs, method=request.method, url=url)


def dpop_headers(request: Request) -> dict[str, str]:
    """``DPoP-Nonce`` for a token endpoint's answer when server nonces are on (§8)."""
    nonce = issuer_of(request).dpop.nonce()
    return {} if nonce is None else {"DPoP-Nonce": nonce}


async def access_claims(request: Request) -> AccessClaims:
    """The verified claims of the request's access token (signature, expiry, denylist),
    sent as ``Bearer`` or, DPoP-bound, as ``DPoP`` with a proof (RFC 9449 §7)."""
    header = request.headers.get("authorization")
    scheme, _, token = (header or "").partition(" ")
    if scheme.lower() == "dpop":
        token = token.strip()
        if not token or " " in token:
            raise AuthError("invalid_token", "the Authorization header is not 'DPoP <token>'")
        return await issuer_of(request).authenticate(token, dpop=dpop_request(request))
    return await issuer_of(request).authenticate(bearer_token(request))


def secret_matches(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())

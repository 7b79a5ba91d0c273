"""Discovery, keys and health: ``/.well-known/*``, ``/healthz``, ``/readyz``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from .deps import issuer_of, settings_of

router = APIRouter(tags=["discovery"])


def _metadata(request: Request) -> JSONResponse:
    issuer = issuer_of(request)
    return JSONResponse(
        issuer.metadata(settings_of(request).issuer_url),
        headers={"Cache-Control": f"public, max-age={issuer.jwks_max_age()}"},
    )


@router.get("/.well-known/openid-configuration")
async def openid_configuration(request: Request) -> JSONResponse:
    """OpenID Connect discovery metadata."""
    return _metadata(request)


@router.get("/.well-known/oauth-authorization-server")
async def oauth_authorization_server(request: Request) -> JSONResponse:
    """RFC 8414 authorization server metadata."""
    return _metadata(request)


@router.get("/.well-known/jwks.json")
async def jwks(request: Request) -> JSONResponse:
    """The public signing keys (next, current, previous and retired-but-live keys).
    ``Cache-Control: max-age`` is the issuer's JWKS cache lifetime: a next key is published
    at least that long before it signs."""
    issuer = issuer_of(request)
    return JSONResponse(
        issuer.jwks(),
        headers={"Cache-Control": f"public, max-age={issuer.jwks_max_age()}"},
        media_type="application/jwk-set+json",
    )


@router.get("/healthz", tags=["health"])
async def healthz() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


@router.get("/readyz", tags=["health"])
async def readyz(request: Request) -> JSONResponse:
    """The issuer is open and its database answers (503 otherwise)."""
    issuer = getattr(request.app.state, "issuer", None)
    if issuer is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    try:
        await issuer.revocation_events(after=2**62, limit=1)
    except Exception:
        return JSONResponse({"status": "database unavailable"}, status_code=503)
    return JSONResponse({"status": "ready"})

"""Discovery, keys and health: ``/.well-known/*``, ``/healthz``, ``/readyz``."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from ..issuer.service import Issuer
from .deps import issuer_of, settings_of

router = APIRouter(tags=["discovery"])
#: /readyz asks the database and Redis at most this often (seconds); probes in between
#: get the last answer
READY_CACHE_SECONDS = 1.0
#: the longest a readiness probe waits for one backend
READY_TIMEOUT = 2.0


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
    """The issuer is open and its database (and Redis, when configured) answer; 503
    otherwise. The answer is kept for a second, so probes cost the backends little."""
    issuer = getattr(request.app.state, "issuer", None)
    if issuer is None:
        return JSONResponse({"status": "starting"}, status_code=503)
    now = asyncio.get_running_loop().time()
    cached = getattr(request.app.state, "readiness", None)
    if cached is None or cached[0] <= now:
        status = await _readiness(issuer)
        cached = (now + READY_CACHE_SECONDS, status)
        request.app.state.readiness = cached
    status = cached[1]
    return JSONResponse({"status": status}, status_code=200 if status == "ready" else 503)


async def _readiness(issuer: Issuer) -> str:
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await issuer.revocation_events(after=2**62, limit=1)
    except Exception:
        return "database unavailable"
    try:
        async with asyncio.timeout(READY_TIMEOUT):
            await issuer.ping_shared_state()
    except Exception:
        return "redis unavailable"
    return "ready"

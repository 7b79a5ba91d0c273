"""``POST /inspector/analyze``: the token inspector's server side (issue 10).

Open to anyone, signed in or not: it uses only this server's public JWKS and what the
caller pastes, and it keeps nothing. The token and the key travel in the JSON body (never
a URL, so never an access-log line) and are not logged; the answer is ``no-store``.
Each call may do real crypto work (a pasted RSA key), so calls are limited per client
address (``rate_limits.inspect``: 429 ``rate_limited`` with ``Retry-After``).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..issuer.errors import AuthError
from ..jose import JWKSet
from .deps import context, issuer_of
from .errors import NO_STORE
from .inspection import LIMITS, MAX_KEY_TEXT, InspectionError, inspect
from .models import ErrorResponse

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "token_malformed, key_invalid, invalid_request"},
    429: {"model": ErrorResponse, "description": "rate_limited (see Retry-After)"},
}

router = APIRouter(tags=["inspector"], responses=ERRORS)


class InspectRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    token: str = Field(max_length=LIMITS.max_token)
    key: str | None = Field(None, max_length=MAX_KEY_TEXT)


@router.post("/inspector/analyze")
async def analyze(request: Request, body: InspectRequest) -> JSONResponse:
    """Decode a compact JWT (JWS) or JWE, check its signature against this server's JWKS
    or the pasted ``key`` (JWK, JWK Set or PEM; a JWE is decrypted only with a pasted
    key), and list RFC 8725 warnings. 400 ``token_malformed`` / ``key_invalid``; 429
    ``rate_limited`` past the per-address limit (counted before any work is done)."""
    issuer = issuer_of(request)
    await issuer.count_inspection(ctx=context(request))
    server_keys = JWKSet.from_dict(issuer.jwks(), public_only=True)
    try:
        result = inspect(body.token, server_keys=server_keys, key_text=body.key, now=issuer.now())
    except InspectionError as exc:
        raise AuthError(exc.code, exc.message) from None
    return JSONResponse(result, headers=NO_STORE)

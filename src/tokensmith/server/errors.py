"""The one place that turns domain errors into HTTP answers (DESIGN rule 9).

- :data:`AUTH_STATUS` maps every :class:`AuthError` code to a status; a code missing
  from the table is a 400 (bad input is never a 500).
- :class:`OAuthError` becomes RFC 6749 §5.2 JSON (``error``, ``error_description``)
  on the OAuth endpoints (``/oauth/...``), ``{"error", "message"}`` elsewhere.
- :class:`RateLimitedError` adds ``Retry-After``; ``invalid_token`` adds
  ``WWW-Authenticate: Bearer error="invalid_token"`` (RFC 6750 §3).
- Request validation errors are 400 ``invalid_request`` (FastAPI's 422 is replaced).
- :class:`StoreUnavailable` (a backend such as Redis does not answer, so a check could
  not be made) is a 503 ``temporarily_unavailable`` with ``Retry-After``.
- Anything unexpected is a 500 with a fixed body: no exception text, no stack trace.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..issuer.errors import (
    AuthError,
    DPoPAuthError,
    DPoPProofError,
    OAuthError,
    RateLimitedError,
)
from ..store import StoreUnavailable

log = logging.getLogger("tokensmith.server")

AUTH_STATUS: Mapping[str, int] = MappingProxyType(
    {
        "invalid_request": 400,
        "invalid_username": 400,
        "weak_password": 400,
        "password_too_long": 400,
        "invalid_credentials": 401,
        "invalid_token": 401,
        "unauthorized": 401,
        "invalid_dpop_proof": 401,
        "use_dpop_nonce": 401,
        "invalid_setup_token": 403,
        "account_disabled": 403,
        "registration_closed": 403,
        "invite_required": 403,
        "forbidden": 403,
        "csrf_failed": 403,
        "origin_not_allowed": 403,
        "session_not_found": 404,
        "user_not_found": 404,
        "key_not_found": 404,
        "client_not_found": 404,
        "not_found": 404,
        "method_not_allowed": 405,
        "username_taken": 409,
        "admin_exists": 409,
        "key_state": 409,
        "client_exists": 409,
        "payload_too_large": 413,
        "rate_limited": 429,
        "headers_too_large": 431,
        "not_ready": 503,
    }
)

#: RFC 6749 §5.2: invalid_client is 401, every other error 400.
OAUTH_STATUS: Mapping[str, int] = MappingProxyType({"invalid_client": 401})

#: status -> stable code, for errors raised by the framework itself (404, 405, ...).
_HTTP_CODES: Mapping[int, str] = MappingProxyType(
    {
        400: "invalid_request",
        401: "unauthorized",
        403: "forbidden",
        404: "not_found",
        405: "method_not_allowed",
        413: "payload_too_large",
        415: "unsupported_media_type",
        431: "headers_too_large",
    }
)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def auth_status(code: str) -> int:
    return AUTH_STATUS.get(code, 400)


def oauth_status(error: str) -> int:
    return OAUTH_STATUS.get(error, 400)


def is_oauth_path(path: str) -> bool:
    return path.startswith("/oauth/")


def error_response(
    request: Request, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    """``{"error", "message"}`` — or RFC 6749 JSON on an OAuth endpoint."""
    merged = dict(NO_STORE)
    if headers:
        merged.update(headers)
    body: dict[str, Any]
    if is_oauth_path(request.url.path):
        body = {"error": code, "error_description": message}
    else:
        body = {"error": code, "message": message}
    return JSONResponse(body, status_code=status, headers=merged)


def auth_error_response(request: Request, exc: AuthError) -> JSONResponse:
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, DPoPAuthError):
        headers.update(dpop_challenge(exc))
    elif exc.code == "invalid_token":
        headers["WWW-Authenticate"] = bearer_challenge("invalid_token", exc.message)
    elif exc.code == "unauthorized":
        headers["WWW-Authenticate"] = 'Bearer realm="tokensmith"'
    return error_response(request, auth_status(exc.code), exc.code, exc.message, headers)


def oauth_error_response(request: Request, exc: OAuthError) -> JSONResponse:
    status = oauth_status(exc.error)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="tokensmith"'
    if isinstance(exc, DPoPProofError) and exc.nonce is not None:
        headers["DPoP-Nonce"] = exc.nonce
    return error_response(request, status, exc.error, exc.description or exc.error, headers)


def _quotable(description: str) -> str:
    return description.replace("\\", "").replace('"', "'")


def bearer_challenge(error: str, description: str) -> str:
    safe = _quotable(description)
    return f'Bearer realm="tokensmith", error="{error}", error_description="{safe}"'


def dpop_challenge(exc: DPoPAuthError) -> dict[str, str]:
    """RFC 9449 §7.1: ``WWW-Authenticate: DPoP`` with the accepted ``algs`` and the
    error; ``DPoP-Nonce`` with a fresh nonce when server nonces are on (§9)."""
    safe = _quotable(exc.message)
    headers = {
        "WWW-Authenticate": (
            f'DPoP realm="tokensmith", algs="{" ".join(exc.algs)}", '
            f'error="{exc.code}", error_description="{safe}"'
        )
    }
    if exc.nonce is not None:
        headers["DPoP-Nonce"] = exc.nonce
    return headers


def validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        loc = ".".join(str(p) for p in error.get("loc", ()) if p not in ("body", "query"))
        msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts) or "invalid request"


def install_error_handlers(app: FastAPI) -> None:
    async def on_auth_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AuthError)
        return auth_error_response(request, exc)

    async def on_oauth_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, OAuthError)
        return oauth_error_response(request, exc)

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return error_response(request, 400, "invalid_request", validation_message(exc))

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = _HTTP_CODES.get(exc.status_code, "invalid_request")
        message = exc.detail if isinstance(exc.detail, str) else code
        return error_response(request, exc.status_code, code, message, exc.headers)

    async def on_unavailable(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StoreUnavailable)
        headers = {"Retry-After": str(exc.retry_after)}
        return error_response(request, 503, "temporarily_unavailable", str(exc), headers)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.error("unhandled %s on %s %s", type(exc).__name__, request.method, request.url.path)
        code = "server_error"
        return error_response(request, 500, code, "internal error")

    app.add_exception_handler(AuthError, on_auth_error)
    app.add_exception_handler(OAuthError, on_oauth_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(StoreUnavailable, on_unavailable)
    app.add_exception_handler(Exception, on_unexpected)

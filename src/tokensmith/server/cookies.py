"""Cookie mode for SPAs: the refresh token lives only in a ``__Host-`` cookie.

- ``__Host-tokensmith-refresh``: the refresh token; ``HttpOnly; Secure; SameSite=Strict;
  Path=/`` (the ``__Host-`` prefix forbids ``Domain`` and requires ``Secure`` and
  ``Path=/``, so no sibling subdomain can set or shadow it).
- ``__Host-tokensmith-csrf``: a random CSRF token, readable by script (not HttpOnly), also
  returned as ``csrf_token`` in the JSON body. Refresh and logout by cookie must send it
  back in ``X-CSRF-Token`` (double submit) **and** come from an allowed ``Origin``.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable

from fastapi import Request, Response

from ..issuer.errors import AuthError, OAuthError

REFRESH_COOKIE = "__Host-tokensmith-refresh"
CSRF_COOKIE = "__Host-tokensmith-csrf"
CSRF_HEADER = "X-CSRF-Token"


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def set_session_cookies(
    response: Response, *, refresh_token: str, max_age: int, csrf_token: str
) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        refresh_token,
        max_age=max_age,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        CSRF_COOKIE,
        csrf_token,
        max_age=max_age,
        path="/",
        secure=True,
        httponly=False,
        samesite="strict",
    )


def clear_session_cookies(response: Response) -> None:
    for name, httponly in ((REFRESH_COOKIE, True), (CSRF_COOKIE, False)):
        response.delete_cookie(name, path="/", secure=True, httponly=httponly, samesite="strict")


def check_origin(request: Request, allowed: Iterable[str], *, required: bool) -> None:
    """The ``Origin`` header must be one of ``allowed`` (when present, or always if required)."""
    origin = request.headers.get("origin")
    if origin is None:
        if required:
            raise AuthError("origin_not_allowed", "cookie requests must carry an Origin header")
        return
    if origin.lower().rstrip("/") not in set(allowed):
        raise AuthError("origin_not_allowed", "this Origin may not use the session cookie")


def check_csrf(request: Request) -> None:
    """Double submit: the CSRF cookie and the ``X-CSRF-Token`` header must match."""
    cookie = request.cookies.get(CSRF_COOKIE)
    header = request.headers.get(CSRF_HEADER)
    if not cookie or not header:
        raise AuthError("csrf_failed", f"missing CSRF cookie or {CSRF_HEADER} header")
    if not hmac.compare_digest(cookie.encode(), header.encode()):
        raise AuthError("csrf_failed", f"{CSRF_HEADER} does not match the CSRF cookie")


def refresh_cookie(request: Request, allowed_origins: Iterable[str]) -> str:
    """The refresh token from the cookie, after the Origin and CSRF checks."""
    check_origin(request, allowed_origins, required=True)
    check_csrf(request)
    token = request.cookies.get(REFRESH_COOKIE)
    if not token:
        raise OAuthError("invalid_grant", "no session cookie")
    return token

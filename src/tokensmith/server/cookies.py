"""Cookie mode for SPAs: the refresh token lives only in a ``__Host-`` cookie.

- ``__Host-tokensmith-refresh``: the refresh token; ``HttpOnly; Secure; SameSite=Strict;
  Path=/`` (the ``__Host-`` prefix forbids ``Domain`` and requires ``Secure`` and
  ``Path=/``, so no sibling subdomain can set or shadow it).
- ``__Host-tokensmith-csrf``: a random CSRF token, readable by script (not HttpOnly), also
  returned as ``csrf_token`` in the JSON body. Refresh and logout by cookie must send it
  back in ``X-CSRF-Token`` (double submit) **and** come from an allowed ``Origin``.

Cookie mode belongs to a client (docs/cookie-mode.md): the first-party client's is the
``cookie_mode`` setting and its cookies have the names above; a registered login client
(public, grant ``refresh_token``) has its own ``cookie_mode`` and its own pair of cookies,
``__Host-tokensmith-refresh-<client_id>`` and ``__Host-tokensmith-csrf-<client_id>``
(``:`` written ``~``), so two apps' sessions in one browser never overwrite each other.

The server's own web pages sign in as the built-in login client ``tokensmith-pages``
(:data:`~tokensmith.issuer.config.PAGES_CLIENT_ID`), always in cookie mode whatever the
settings, with its own pair ``__Host-tokensmith-refresh-tokensmith-pages`` /
``__Host-tokensmith-csrf-tokensmith-pages``; its one allowed origin is the server's own
(the issuer's), not ``allowed_origins``, and its logins must carry that ``Origin``.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from ..issuer.config import PAGES_CLIENT_ID
from ..issuer.errors import AuthError, OAuthError
from .deps import issuer_of, settings_of

REFRESH_COOKIE = "__Host-tokensmith-refresh"
CSRF_COOKIE = "__Host-tokensmith-csrf"
CSRF_HEADER = "X-CSRF-Token"


def registered(request: Request, client_id: str | None) -> str | None:
    """``client_id`` when it names a registered client; None for the first-party client
    (named or not)."""
    if not client_id or client_id == settings_of(request).first_party_client_id:
        return None
    return client_id


async def cookie_mode_of(request: Request, client: str | None) -> bool:
    """Is ``client`` (None: the first-party client) in cookie mode? An unknown client
    is not (the issuer refuses it with its own error)."""
    if client is None:
        return settings_of(request).cookie_mode
    if client == PAGES_CLIENT_ID:
        return True
    try:
        info = await issuer_of(request).clients.get(client_id=client)
    except AuthError:
        return False
    return info.cookie_mode and info.public and not info.disabled


def allowed_origins(request: Request, client: str | None) -> tuple[str, ...]:
    """The origins whose pages may use ``client``'s cookies: the server's own for the web
    pages' client, ``allowed_origins`` (by default the server's own) for the others."""
    settings = settings_of(request)
    if client == PAGES_CLIENT_ID:
        return (settings.own_origin,)
    return settings.origins


def check_login_origin(request: Request, client: str | None) -> None:
    """A cookie-mode login must come from an allowed ``Origin`` when it names one; the
    web pages' client always needs one (only a browser on the server's own pages uses it,
    and browsers send ``Origin`` with every POST)."""
    check_origin(request, allowed_origins(request, client), required=client == PAGES_CLIENT_ID)


def cookie_names(client: str | None) -> tuple[str, str]:
    """(refresh cookie, CSRF cookie) of ``client`` (None: the first-party client)."""
    if client is None:
        return REFRESH_COOKIE, CSRF_COOKIE
    suffix = client.replace(":", "~")  # ':' may not be in a cookie name, '~' never in an id
    return f"{REFRESH_COOKIE}-{suffix}", f"{CSRF_COOKIE}-{suffix}"


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def set_session_cookies(
    response: Response,
    *,
    refresh_token: str,
    max_age: int,
    csrf_token: str,
    client: str | None = None,
) -> None:
    refresh_name, csrf_name = cookie_names(client)
    response.set_cookie(
        refresh_name,
        refresh_token,
        max_age=max_age,
        path="/",
        secure=True,
        httponly=True,
        samesite="strict",
    )
    response.set_cookie(
        csrf_name,
        csrf_token,
        max_age=max_age,
        path="/",
        secure=True,
        httponly=False,
        samesite="strict",
    )


def token_answer(
    body: Mapping[str, Any], *, cookie: bool, client: str | None, headers: Mapping[str, str]
) -> JSONResponse:
    """A token answer (``body`` holds ``refresh_token`` and ``refresh_expires_in``); in
    cookie mode the refresh token moves into ``client``'s cookie and the body gets the
    ``csrf_token`` that the CSRF cookie holds."""
    if not cookie:
        return JSONResponse(dict(body), headers=dict(headers))
    answer = dict(body)
    refresh_token = answer.pop("refresh_token")
    answer["csrf_token"] = csrf = new_csrf_token()
    response = JSONResponse(answer, headers=dict(headers))
    set_session_cookies(
        response,
        refresh_token=refresh_token,
        max_age=int(answer["refresh_expires_in"]),
        csrf_token=csrf,
        client=client,
    )
    return response


def clear_session_cookies(response: Response, client: str | None = None) -> None:
    refresh_name, csrf_name = cookie_names(client)
    for name, httponly in ((refresh_name, True), (csrf_name, False)):
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


def check_csrf(request: Request, client: str | None = None) -> None:
    """Double submit: the CSRF cookie and the ``X-CSRF-Token`` header must match."""
    cookie = request.cookies.get(cookie_names(client)[1])
    header = request.headers.get(CSRF_HEADER)
    if not cookie or not header:
        raise AuthError("csrf_failed", f"missing CSRF cookie or {CSRF_HEADER} header")
    if not hmac.compare_digest(cookie.encode(), header.encode()):
        raise AuthError("csrf_failed", f"{CSRF_HEADER} does not match the CSRF cookie")


def refresh_cookie(
    request: Request, allowed_origins: Iterable[str], client: str | None = None
) -> str:
    """The refresh token from ``client``'s cookie, after the Origin and CSRF checks."""
    check_origin(request, allowed_origins, required=True)
    check_csrf(request, client)
    token = request.cookies.get(cookie_names(client)[0])
    if not token:
        raise OAuthError("invalid_grant", "no session cookie")
    return token

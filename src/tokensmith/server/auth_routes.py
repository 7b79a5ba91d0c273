"""First-party endpoints: ``/auth/*`` and ``/userinfo`` (JSON in, JSON out)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ..issuer.errors import AuthError
from ..issuer.service import AccessClaims, TokenPair, UserInfo
from . import cookies
from .deps import access_claims, context, dpop_headers, dpop_request, issuer_of, settings_of
from .errors import NO_STORE
from .models import (
    CountResponse,
    ErrorResponse,
    LoginRequest,
    PasswordChange,
    RefreshRequest,
    RegisterRequest,
    SessionResponse,
    SetupRequest,
    TokenResponse,
    UserResponse,
)

ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "invalid_request and other bad input"},
    401: {"model": ErrorResponse, "description": "missing or invalid credentials / token"},
    429: {"model": ErrorResponse, "description": "rate_limited (see Retry-After)"},
}

router = APIRouter(tags=["auth"], responses=ERRORS)


def _user(info: UserInfo) -> UserResponse:
    return UserResponse(id=info.id, username=info.username, roles=list(info.roles))


def _token_response(
    request: Request, pair: TokenPair, *, cookie: bool, client: str | None = None
) -> JSONResponse:
    """The login/refresh answer; in cookie mode (of ``client``, None: the first-party
    client) the refresh token goes only in the client's cookie. ``token_type`` is
    ``DPoP`` for tokens bound to the request's DPoP key."""
    # TokenResponse's members, in its order (it documents the answer in the OpenAPI)
    body = {
        "access_token": pair.access_token,
        "token_type": pair.token_type,
        "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token,
        "refresh_expires_in": pair.refresh_expires_in,
    }
    return cookies.token_answer(
        body,
        cookie=cookie,
        client=client,
        headers={**NO_STORE, **dpop_headers(request)},
    )


@router.post("/auth/register", status_code=201, response_model=UserResponse)
async def register(body: RegisterRequest, request: Request) -> UserResponse:
    """Create an account (when registration is open, or with an invite)."""
    info = await issuer_of(request).register(
        username=body.username, password=body.password, invite=body.invite, ctx=context(request)
    )
    return _user(info)


@router.post("/auth/setup", status_code=201, response_model=UserResponse)
async def setup(body: SetupRequest, request: Request) -> UserResponse:
    """Create the first admin with the one-time setup token printed at first start."""
    info = await issuer_of(request).redeem_setup_token(
        token=body.setup_token,
        username=body.username,
        password=body.password,
        ctx=context(request),
    )
    return _user(info)


@router.post("/auth/login", response_model=TokenResponse, response_model_exclude_none=True)
async def login(body: LoginRequest, request: Request) -> JSONResponse:
    """Check the password and start a session of the first-party client, of the
    registered login client ``client_id`` (public, grant ``refresh_token``), or of the
    web pages' built-in client ``tokensmith-pages`` (always cookie mode, only from the
    server's own origin). With a ``DPoP`` proof header (RFC 9449) the tokens are bound to
    its key (``token_type: DPoP``)."""
    client = cookies.registered(request, body.client_id)
    cookie = await cookies.cookie_mode_of(request, client)
    if cookie:
        cookies.check_login_origin(request, client)
    pair = await issuer_of(request).login(
        username=body.username,
        password=body.password,
        client_id=body.client_id,
        dpop=dpop_request(request),
        ctx=context(request),
    )
    return _token_response(request, pair, cookie=cookie, client=client)


@router.post("/auth/refresh", response_model=TokenResponse, response_model_exclude_none=True)
async def refresh(request: Request, body: RefreshRequest | None = None) -> JSONResponse:
    """Rotate a refresh token: the old one is consumed, a new pair comes back.

    In cookie mode the token comes from the ``__Host-`` cookie, with the ``X-CSRF-Token``
    header and an allowed ``Origin``. A DPoP-bound session needs a ``DPoP`` proof of its
    key."""
    settings = settings_of(request)
    client = cookies.registered(request, None if body is None else body.client_id)
    cookie = await cookies.cookie_mode_of(request, client)
    if cookie:
        if body is not None and body.refresh_token is not None:
            raise AuthError(
                "invalid_request", "cookie mode: the refresh token travels only in the cookie"
            )
        token = cookies.refresh_cookie(request, cookies.allowed_origins(request, client), client)
    else:
        if body is None or body.refresh_token is None:
            raise AuthError("invalid_request", "refresh_token is required")
        token = body.refresh_token
    pair = await issuer_of(request).refresh(
        refresh_token=token,
        client_id=client or settings.first_party_client_id,
        dpop=dpop_request(request),
        ctx=context(request),
    )
    return _token_response(request, pair, cookie=cookie, client=client)


@router.post("/auth/logout", status_code=204)
async def logout(request: Request, body: RefreshRequest | None = None) -> Response:
    """End this session: by refresh token (body, or the cookie in cookie mode) or by the
    access token's session."""
    issuer = issuer_of(request)
    ctx = context(request)
    response = Response(status_code=204, headers=NO_STORE)
    client = cookies.registered(request, None if body is None else body.client_id)
    cookie = await cookies.cookie_mode_of(request, client)
    if cookie and cookies.cookie_names(client)[0] in request.cookies:
        token = cookies.refresh_cookie(request, cookies.allowed_origins(request, client), client)
        await issuer.logout(refresh_token=token, ctx=ctx)
    elif body is not None and body.refresh_token is not None:
        if cookie:
            raise AuthError(
                "invalid_request", "cookie mode: the refresh token travels only in the cookie"
            )
        await issuer.logout(refresh_token=body.refresh_token, ctx=ctx)
    else:
        claims = await access_claims(request)
        await issuer.logout(session_id=claims.sid, user_id=claims.sub, ctx=ctx)
    if cookie:
        cookies.clear_session_cookies(response, client)
    return response


@router.post("/auth/logout-all", response_model=CountResponse)
async def logout_all(request: Request) -> JSONResponse:
    """End every session of the access token's user; their access tokens are denied."""
    claims = await access_claims(request)
    count = await issuer_of(request).logout_all(user_id=claims.sub, ctx=context(request))
    response = JSONResponse({"revoked": count}, headers=NO_STORE)
    if settings_of(request).cookie_mode:
        cookies.clear_session_cookies(response)
    # and the cookies of the token's own client (the web pages', a login client's)
    client = cookies.registered(request, claims.client_id)
    if client is not None and await cookies.cookie_mode_of(request, client):
        cookies.clear_session_cookies(response, client)
    return response


@router.post("/auth/password", status_code=204)
async def change_password(body: PasswordChange, request: Request) -> Response:
    """Change the caller's password (needs the old one)."""
    claims = await access_claims(request)
    await issuer_of(request).change_password(
        user_id=claims.sub,
        old_password=body.old_password,
        new_password=body.new_password,
        ctx=context(request),
    )
    return Response(status_code=204, headers=NO_STORE)


@router.get("/auth/sessions", response_model=list[SessionResponse])
async def sessions(request: Request) -> list[SessionResponse]:
    """The caller's active sessions, newest first; ``current`` marks this token's."""
    claims: AccessClaims = await access_claims(request)
    found = await issuer_of(request).list_sessions(user_id=claims.sub)
    return [SessionResponse(**asdict(s), current=s.id == claims.sid) for s in found]


@router.delete("/auth/sessions/{session_id}", status_code=204)
async def revoke_session(session_id: str, request: Request) -> Response:
    """End one of the caller's sessions (404 session_not_found otherwise)."""
    claims = await access_claims(request)
    if len(session_id) > 128:
        raise AuthError("session_not_found", "no such session")
    await issuer_of(request).revoke_session(
        user_id=claims.sub, session_id=session_id, ctx=context(request)
    )
    return Response(status_code=204, headers=NO_STORE)


@router.get("/userinfo")
async def userinfo(request: Request) -> JSONResponse:
    """Who the access token belongs to (``sub``, ``preferred_username``, ``roles``)."""
    claims = await access_claims(request)
    info = await issuer_of(request).userinfo(claims)
    return JSONResponse(info, headers=NO_STORE)


__all__ = ["router"]

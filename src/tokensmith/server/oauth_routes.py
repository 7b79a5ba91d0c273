"""OAuth endpoints: ``POST /oauth/token`` (RFC 6749 §6) and ``POST /oauth/revoke`` (RFC 7009).

Form-encoded requests; errors are RFC 6749 §5.2 JSON (``error``, ``error_description``)
with ``Cache-Control: no-store``. Only public clients exist for now: ``client_id`` is the
first-party client or absent, and client authentication (``Authorization: Basic``) is
refused with ``invalid_client``.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from ..issuer.clients import CLIENT_GRANTS
from ..issuer.errors import OAuthError
from . import cookies
from .deps import context, dpop_headers, dpop_request, issuer_of, settings_of
from .errors import NO_STORE
from .models import OAuthErrorResponse

FORM = "application/x-www-form-urlencoded"
_OAUTH_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": OAuthErrorResponse, "description": "RFC 6749 §5.2 error"},
    401: {"model": OAuthErrorResponse, "description": "invalid_client"},
    429: {"model": OAuthErrorResponse, "description": "rate_limited (see Retry-After)"},
}


def _form_body(fields: dict[str, str], required: list[str]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                FORM: {
                    "schema": {
                        "type": "object",
                        "properties": {name: {"type": "string"} for name in fields},
                        "required": required,
                    }
                }
            },
        }
    }


router = APIRouter(tags=["oauth"], responses=_OAUTH_ERRORS)


async def read_form(request: Request) -> dict[str, str]:
    """The form parameters; invalid_request for another media type, bad encoding or a
    repeated parameter (RFC 6749 §3.2)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != FORM:
        raise OAuthError("invalid_request", f"the body must be {FORM}")
    raw = await request.body()
    try:
        text = raw.decode("ascii")
        pairs = urllib.parse.parse_qsl(
            text,
            keep_blank_values=True,
            strict_parsing=bool(text),
            encoding="utf-8",
            errors="strict",
            max_num_fields=32,
        )
    except (UnicodeDecodeError, ValueError):
        raise OAuthError("invalid_request", "the form body is not valid") from None
    form: dict[str, str] = {}
    for name, value in pairs:
        if name in form:
            raise OAuthError("invalid_request", f"parameter {name!r} is repeated")
        form[name] = value
    return form


async def _client_id(request: Request, form: dict[str, str]) -> str | None:
    """The public client of the request: the first-party client, or a registered login
    client (public, grant refresh_token; else invalid_client / unauthorized_client)."""
    if request.headers.get("authorization"):
        raise OAuthError("invalid_client", "client authentication is not supported")
    client_id = form.get("client_id") or None
    if client_id is not None and client_id != settings_of(request).first_party_client_id:
        await issuer_of(request).clients.login_client(client_id)
    return client_id


@router.post(
    "/oauth/token",
    openapi_extra=_form_body(
        dict.fromkeys(
            [
                "grant_type",
                "refresh_token",
                "client_id",
                "scope",
                "client_secret",
                "client_assertion_type",
                "client_assertion",
                "resource",
                "audience",
                "subject_token",
                "subject_token_type",
                "actor_token",
                "actor_token_type",
                "requested_token_type",
            ],
            "",
        ),
        ["grant_type"],
    ),
)
async def token(request: Request) -> JSONResponse:
    """grant_type=refresh_token: rotate a refresh token (RFC 6749 §6);
    client_credentials (RFC 6749 §4.4) and token exchange (RFC 8693) for registered
    clients (see docs/service-to-service.md). Every grant takes a ``DPoP`` proof header
    (RFC 9449): the token is bound to its key and ``token_type`` is ``DPoP``."""
    form = await read_form(request)
    grant_type = form.get("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "grant_type is required")
    if grant_type in CLIENT_GRANTS:
        from .client_routes import client_grant  # clients, issue 6

        return await client_grant(request, form, grant_type)
    if grant_type != "refresh_token":
        raise OAuthError(
            "unsupported_grant_type", f"grant_type {grant_type[:64]!r} is not supported"
        )
    settings = settings_of(request)
    client_id = await _client_id(request, form) or settings.first_party_client_id
    client = cookies.registered(request, client_id)
    cookie = await cookies.cookie_mode_of(request, client)
    refresh_token = form.get("refresh_token")
    if cookie:
        # the client's refresh tokens travel only in its cookie, whichever endpoint
        if refresh_token is not None:
            raise OAuthError(
                "invalid_request", "cookie mode: the refresh token travels only in the cookie"
            )
        refresh_token = cookies.refresh_cookie(
            request, cookies.allowed_origins(request, client), client
        )
    if not refresh_token:
        raise OAuthError("invalid_request", "refresh_token is required")
    scope = form.get("scope")
    if scope is not None:
        granted = set(settings_of(request).default_scope.split())
        if set(scope.split()) != granted:
            raise OAuthError("invalid_scope", "the scope cannot be changed on refresh")
    pair = await issuer_of(request).refresh(
        refresh_token=refresh_token,
        client_id=client_id,
        dpop=dpop_request(request),
        ctx=context(request),
    )
    body: dict[str, Any] = {
        "access_token": pair.access_token,
        "token_type": pair.token_type,
        "expires_in": pair.expires_in,
        "refresh_token": pair.refresh_token,
        "refresh_expires_in": pair.refresh_expires_in,
    }
    if pair.scope:
        body["scope"] = pair.scope
    return cookies.token_answer(
        body, cookie=cookie, client=client, headers={**NO_STORE, **dpop_headers(request)}
    )


@router.post(
    "/oauth/revoke",
    openapi_extra=_form_body({"token": "", "token_type_hint": "", "client_id": ""}, ["token"]),
)
async def revoke(request: Request) -> Response:
    """RFC 7009: revoke a refresh token (its session ends) or an access token (denied by
    jti). 200 whether or not the token was valid."""
    form = await read_form(request)
    from .client_routes import client_authenticates, revoke_for_client  # clients, issue 6

    if client_authenticates(request, form):
        return await revoke_for_client(request, form)
    client_id = await _client_id(request, form)
    token_value = form.get("token")
    if not token_value:
        raise OAuthError("invalid_request", "token is required")
    hint = form.get("token_type_hint") or None
    if hint not in (None, "access_token", "refresh_token"):
        hint = None  # RFC 7009 §2.1: an unknown hint is ignored
    await issuer_of(request).revoke_token(
        token=token_value, token_type_hint=hint, client_id=client_id, ctx=context(request)
    )
    return Response(status_code=200, headers=NO_STORE)

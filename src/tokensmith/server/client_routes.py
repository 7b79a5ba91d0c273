"""OAuth clients over HTTP (issue 6): client authentication, the client grants of
``POST /oauth/token``, ``POST /oauth/introspect`` (RFC 7662) and the admin API
``/admin/clients`` (an access token whose ``roles`` hold ``admin`` or whose ``scope``
holds ``admin``).

Client authentication (RFC 6749 §2.3.1, RFC 7523 §2.2): ``Authorization: Basic`` with
the form-urlencoded id and secret, ``client_id`` + ``client_secret`` in the form, or
``client_assertion_type`` + ``client_assertion``. More than one method in one request is
``invalid_request``; a failure is 401 ``invalid_client`` with ``WWW-Authenticate``.
"""

from __future__ import annotations

import base64
import binascii
import urllib.parse
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..issuer.client_auth import ASSERTION_TYPE, PresentedClient
from ..issuer.clients import (
    GRANT_CLIENT_CREDENTIALS,
    GRANT_TOKEN_EXCHANGE,
    IssuedToken,
    NewClient,
)
from ..issuer.errors import AuthError, OAuthError
from ..issuer.service import AccessClaims
from ..store import ClientRecord
from .deps import access_claims, context, dpop_headers, dpop_request, issuer_of
from .errors import NO_STORE
from .oauth_routes import _OAUTH_ERRORS, _form_body, read_form

router = APIRouter()


def _basic(header: str) -> tuple[str, str]:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value.strip():
        raise OAuthError("invalid_client", "only HTTP Basic client authentication is accepted")
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "the Basic credentials are malformed") from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "the Basic credentials are malformed")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before base64
    return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)


def presented_client(request: Request, form: dict[str, str]) -> PresentedClient:
    """Which client authentication the request uses, and its values."""
    header = request.headers.get("authorization")
    secret = form.get("client_secret")
    assertion = form.get("client_assertion")
    assertion_type = form.get("client_assertion_type")
    used = [header is not None, secret is not None, assertion is not None]
    if sum(used) > 1:
        raise OAuthError("invalid_request", "use one client authentication method")
    form_id = form.get("client_id") or None
    if header is not None:
        client_id, password = _basic(header)
        if form_id is not None and form_id != client_id:
            raise OAuthError("invalid_client", "client_id does not match the credentials")
        return PresentedClient(method="client_secret_basic", client_id=client_id, secret=password)
    if assertion is not None:
        if assertion_type != ASSERTION_TYPE:
            raise OAuthError("invalid_client", f"client_assertion_type must be {ASSERTION_TYPE}")
        return PresentedClient(method="private_key_jwt", client_id=form_id, assertion=assertion)
    if secret is not None:
        return PresentedClient(method="client_secret_post", client_id=form_id, secret=secret)
    return PresentedClient(method="none", client_id=form_id)


async def authenticated_client(request: Request, form: dict[str, str]) -> ClientRecord:
    return await issuer_of(request).clients.authenticate(
        presented_client(request, form), ctx=context(request)
    )


def _audiences(form: dict[str, str]) -> list[str]:
    return [v for v in (form.get("resource"), form.get("audience")) if v]


def _token_body(issued: IssuedToken, *, exchange: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "access_token": issued.access_token,
        "token_type": issued.token_type,
        "expires_in": issued.expires_in,
    }
    if issued.scope:
        body["scope"] = issued.scope
    if exchange:
        body["issued_token_type"] = issued.issued_token_type
    return body


async def client_grant(request: Request, form: dict[str, str], grant_type: str) -> JSONResponse:
    """``grant_type=client_credentials`` or token exchange at ``POST /oauth/token``."""
    client = await authenticated_client(request, form)
    clients = issuer_of(request).clients
    if grant_type == GRANT_CLIENT_CREDENTIALS:
        issued = await clients.client_credentials(
            client=client,
            scope=form.get("scope"),
            audiences=_audiences(form),
            dpop=dpop_request(request),
            ctx=context(request),
        )
        return JSONResponse(
            _token_body(issued, exchange=False), headers={**NO_STORE, **dpop_headers(request)}
        )
    assert grant_type == GRANT_TOKEN_EXCHANGE
    issued = await clients.exchange(
        client=client,
        subject_token=form.get("subject_token"),
        subject_token_type=form.get("subject_token_type"),
        actor_token=form.get("actor_token"),
        actor_token_type=form.get("actor_token_type"),
        requested_token_type=form.get("requested_token_type"),
        scope=form.get("scope"),
        audiences=_audiences(form),
        dpop=dpop_request(request),
        ctx=context(request),
    )
    return JSONResponse(
        _token_body(issued, exchange=True), headers={**NO_STORE, **dpop_headers(request)}
    )


def client_authenticates(request: Request, form: dict[str, str]) -> bool:
    """Does the request carry client credentials (not just a ``client_id``)?"""
    return (
        request.headers.get("authorization") is not None
        or "client_secret" in form
        or "client_assertion" in form
    )


async def revoke_for_client(request: Request, form: dict[str, str]) -> Response:
    """RFC 7009 by an authenticated client: its own access tokens are denied by jti."""
    client = await authenticated_client(request, form)
    token = form.get("token")
    if not token:
        raise OAuthError("invalid_request", "token is required")
    await issuer_of(request).clients.revoke(client=client, token=token, ctx=context(request))
    return Response(status_code=200, headers=NO_STORE)


@router.post(
    "/oauth/introspect",
    tags=["oauth"],
    responses=_OAUTH_ERRORS,
    openapi_extra=_form_body(
        {"token": "", "token_type_hint": "", "client_id": "", "client_secret": ""}, ["token"]
    ),
)
async def introspect(request: Request) -> JSONResponse:
    """RFC 7662: is this token active? For authenticated confidential clients."""
    form = await read_form(request)
    client = await authenticated_client(request, form)
    token = form.get("token")
    if not token:
        raise OAuthError("invalid_request", "token is required")
    body = await issuer_of(request).clients.introspect(
        client=client, token=token, token_type_hint=form.get("token_type_hint") or None
    )
    return JSONResponse(body, headers=NO_STORE)


# ---- admin API ---------------------------------------------------------------------------


class ClientCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    name: str = Field(min_length=1, max_length=64)
    token_endpoint_auth_method: str = Field("client_secret_basic", max_length=32)
    grant_types: list[str] = Field(default_factory=lambda: [GRANT_CLIENT_CREDENTIALS], max_length=8)
    scopes: list[str] = Field(default_factory=list, max_length=64)
    audiences: list[str] = Field(default_factory=list, max_length=64)
    access_ttl: int | None = None
    signing_alg: str | None = Field(None, max_length=16)
    cookie_mode: bool = False
    jwks: dict[str, Any] | None = None
    jwks_uri: str | None = Field(None, max_length=2048)
    dpop: str = Field("optional", max_length=16)


async def _require_admin(request: Request) -> AccessClaims:
    claims = await access_claims(request)
    if not claims.is_admin and "admin" not in claims.scope.split():
        raise AuthError("forbidden", "the admin role or scope is required")
    return claims


def _created(new: NewClient) -> dict[str, Any]:
    body = new.client.to_dict()
    if new.client_secret is not None:
        body["client_secret"] = new.client_secret
    return body


@router.post("/admin/clients", status_code=201, tags=["admin"])
async def create_client(request: Request, body: ClientCreate) -> JSONResponse:
    """Register a client; a confidential secret client gets its ``client_secret`` once."""
    await _require_admin(request)
    new = await issuer_of(request).clients.create(
        name=body.name,
        auth_method=body.token_endpoint_auth_method,
        grant_types=body.grant_types,
        scopes=body.scopes,
        audiences=body.audiences,
        access_ttl=body.access_ttl,
        signing_alg=body.signing_alg,
        cookie_mode=body.cookie_mode,
        jwks=body.jwks,
        jwks_uri=body.jwks_uri,
        dpop=body.dpop,
        ctx=context(request),
    )
    return JSONResponse(_created(new), status_code=201, headers=NO_STORE)


@router.get("/admin/clients", tags=["admin"])
async def list_clients(request: Request, limit: int = 100, offset: int = 0) -> JSONResponse:
    await _require_admin(request)
    if not 1 <= limit <= 1000 or offset < 0:
        raise AuthError("invalid_request", "limit is 1..1000 and offset at least 0")
    found = await issuer_of(request).clients.list(limit=limit, offset=offset)
    return JSONResponse([c.to_dict() for c in found], headers=NO_STORE)


@router.post("/admin/clients/{client_id}/rotate-secret", tags=["admin"])
async def rotate_secret(request: Request, client_id: str) -> JSONResponse:
    await _require_admin(request)
    secret = await issuer_of(request).clients.rotate_secret(
        client_id=client_id, ctx=context(request)
    )
    return JSONResponse({"client_id": client_id, "client_secret": secret}, headers=NO_STORE)


@router.post("/admin/clients/{client_id}/disable", status_code=204, tags=["admin"])
async def disable_client(request: Request, client_id: str) -> Response:
    await _require_admin(request)
    await issuer_of(request).clients.disable(client_id=client_id, ctx=context(request))
    return Response(status_code=204, headers=NO_STORE)

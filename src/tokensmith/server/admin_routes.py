"""The admin API beyond clients (issue 10): users, the signing-key timeline and the audit
log. Every route needs an access token with the ``admin`` role or scope, like
``/admin/clients`` (:mod:`.client_routes`).

- ``GET /admin/users`` (search, paging), ``GET /admin/users/{id}``,
  ``POST /admin/users/{id}/disable|enable|revoke-sessions``;
- ``GET /admin/keys`` (next, current, previous and retired keys with their dates, and
  when the next rotation is due), ``POST /admin/keys/rotate``;
- ``GET /admin/audit`` (filters: kind, user, time range; newest first, paged by id).

Bad input is 400 ``invalid_request``; an unknown user 404 ``user_not_found``; a rotation
refused by the key schedule 409 ``key_state``; disabling oneself 400 ``own_account``.
"""

from __future__ import annotations

import dataclasses
import math
import re
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from ..issuer.errors import AuthError
from ..issuer.service import AuditEvent, KeyInfo, UserInfo
from .client_routes import _require_admin
from .deps import context, issuer_of
from .errors import NO_STORE

router = APIRouter(prefix="/admin", tags=["admin"])

#: the key states in timeline order (newest role first)
_STATE_ORDER = {"next": 0, "current": 1, "previous": 2, "retired": 3}
_KIND = re.compile(r"[a-z][a-z0-9_]{0,63}")
_MAX_SEARCH = 256


def _bad(message: str) -> AuthError:
    return AuthError("invalid_request", message)


def _paging(limit: int, offset: int) -> None:
    if not 1 <= limit <= 200 or not 0 <= offset <= 1_000_000:
        raise _bad("limit is 1..200 and offset 0..1000000")


def _fields(value: UserInfo | KeyInfo | AuditEvent) -> dict[str, Any]:
    """A result value's fields as JSON members (tuples become arrays)."""
    return dataclasses.asdict(value)


def _answer(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=NO_STORE)


# ---- users -------------------------------------------------------------------------------


@router.get("/users")
async def list_users(
    request: Request, q: str | None = None, limit: int = 50, offset: int = 0
) -> JSONResponse:
    """Users oldest first; ``q`` keeps those whose name contains it or whose id it is.
    ``next_offset`` is the offset of the next page (null on the last one)."""
    await _require_admin(request)
    _paging(limit, offset)
    if q is not None and len(q) > _MAX_SEARCH:
        raise _bad(f"q is at most {_MAX_SEARCH} characters")
    found = await issuer_of(request).list_users(limit=limit + 1, offset=offset, search=q)
    next_offset = offset + limit if len(found) > limit else None
    return _answer({"users": [_fields(u) for u in found[:limit]], "next_offset": next_offset})


@router.get("/users/{user_id}")
async def get_user(request: Request, user_id: str) -> JSONResponse:
    await _require_admin(request)
    return _answer(_fields(await issuer_of(request).get_user(user_id=user_id)))


@router.post("/users/{user_id}/disable")
async def disable_user(request: Request, user_id: str) -> JSONResponse:
    """Disable the account, end its sessions and deny its access tokens."""
    claims = await _require_admin(request)
    issuer = issuer_of(request)
    user = await issuer.get_user(user_id=user_id)
    if user.id == claims.sub:
        raise AuthError("own_account", "you cannot disable your own account")
    await issuer.disable_user(username=user.username, ctx=context(request))
    return _answer(_fields(await issuer.get_user(user_id=user.id)))


@router.post("/users/{user_id}/enable")
async def enable_user(request: Request, user_id: str) -> JSONResponse:
    await _require_admin(request)
    issuer = issuer_of(request)
    user = await issuer.get_user(user_id=user_id)
    await issuer.enable_user(username=user.username, ctx=context(request))
    return _answer(_fields(await issuer.get_user(user_id=user.id)))


@router.post("/users/{user_id}/revoke-sessions")
async def revoke_sessions(request: Request, user_id: str) -> JSONResponse:
    """End every session of the user and deny the access tokens issued so far (the
    account stays enabled). ``revoked``: how many sessions ended."""
    await _require_admin(request)
    issuer = issuer_of(request)
    user = await issuer.get_user(user_id=user_id)
    count = await issuer.revoke_user(username=user.username, ctx=context(request))
    return _answer({"user_id": user.id, "revoked": count})


# ---- signing keys ------------------------------------------------------------------------


def _timeline(keys: list[KeyInfo]) -> list[KeyInfo]:
    """next, current, previous, then retired keys, the most recent first in each state."""
    return sorted(keys, key=lambda k: (_STATE_ORDER[k.state], -k.created_at, k.kid))


@router.get("/keys")
async def list_keys(request: Request) -> JSONResponse:
    """The key timeline. ``next_ready_at``: from when ``rotate`` works without ``force``
    (the next key has been in the JWKS for one cache lifetime); ``next_rotation_at``: when
    the schedule rotates by itself."""
    await _require_admin(request)
    issuer = issuer_of(request)
    keys = _timeline(await issuer.list_keys())
    config = issuer.config
    nxt = next((k for k in keys if k.state == "next"), None)
    current = next((k for k in keys if k.state == "current"), None)
    ready = None if nxt is None else nxt.created_at + config.jwks_max_age
    due = None
    if current is not None and ready is not None:
        due = max((current.activated_at or current.created_at) + config.key_rotation, ready)
    return _answer(
        {
            "now": issuer.now(),
            "key_rotation": config.key_rotation,
            "jwks_max_age": config.jwks_max_age,
            "next_ready_at": ready,
            "next_rotation_at": due,
            "keys": [_fields(k) for k in keys],
        }
    )


class RotateBody(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    force: bool = False


@router.post("/keys/rotate")
async def rotate_keys(request: Request, body: RotateBody | None = None) -> JSONResponse:
    """Make the next key current now. Without ``force`` the next key must have been
    published for ``jwks_max_age`` (else 409 ``key_state``, saying how long to wait)."""
    await _require_admin(request)
    force = body.force if body is not None else False
    current = await issuer_of(request).rotate_keys(force=force, ctx=context(request))
    return _answer({"current": _fields(current)})


# ---- audit log ---------------------------------------------------------------------------


def _instant(value: str | None, name: str) -> float | None:
    """Unix seconds, or an ISO 8601 date-time with an offset (``Z`` or ``+02:00``)."""
    if value is None or value == "":
        return None
    try:
        number = float(value)
    except ValueError:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _bad(f"{name} is Unix seconds or an ISO 8601 date-time") from None
        if parsed.tzinfo is None:
            raise _bad(f"{name} needs a time zone offset (Z or +hh:mm)") from None
        return parsed.timestamp()
    if not math.isfinite(number) or not 0 <= number < 1e11:
        raise _bad(f"{name} is out of range")
    return number


@router.get("/audit")
async def audit_log(
    request: Request,
    kind: str | None = None,
    user: str | None = None,
    since: str | None = None,
    until: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> JSONResponse:
    """Audit events, newest first. ``user``: an id or a username; ``since`` / ``until``:
    ``since <= at < until``; ``before``: the ``next_before`` of the previous page."""
    await _require_admin(request)
    _paging(limit, 0)
    if kind is not None and not _KIND.fullmatch(kind):
        raise _bad("kind is a lowercase event name such as login_failed")
    if before is not None and before < 1:
        raise _bad("before is a positive event id")
    start, end = _instant(since, "since"), _instant(until, "until")
    if start is not None and end is not None and end <= start:
        raise _bad("until must be after since")
    issuer = issuer_of(request)
    user_id = None
    if user:
        if len(user) > _MAX_SEARCH:
            raise _bad(f"user is at most {_MAX_SEARCH} characters")
        user_id = (await issuer.find_user(user=user)).id
    events = await issuer.audit_events(
        limit=limit + 1,
        user_id=user_id,
        kind=kind or None,
        before_id=before,
        since=start,
        until=end,
    )
    page = events[:limit]
    more = len(events) > limit and page[-1].id is not None
    return _answer(
        {"events": [_fields(e) for e in page], "next_before": page[-1].id if more else None}
    )

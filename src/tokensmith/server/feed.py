"""``GET /auth/revocations``: the revocation feed as Server-Sent Events.

Authenticated with ``Authorization: Bearer <token>`` where the token is either the
configured ``revocation_feed_secret`` or an access token whose ``roles`` include
``admin``. Each event::

    id: 42
    event: revocation
    data: {"id": 42, "kind": "jti", "value": "...", "created_at": ..., "expires_at": ...}

On connect the feed replays every unexpired event after ``Last-Event-ID`` (the header an
EventSource sends on reconnect) or ``?after=N`` (all of them when neither is given), sends
``event: ready`` (``data: {"last_id": N}``) once that backlog is complete, then streams
new ones; a ``: keep-alive`` comment goes out when nothing happened for a while. A resume
point above the highest id the server ever gave belongs to another database: the feed
sends ``event: reset`` (with an empty ``id:``) and replays from the start.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from ..issuer.errors import AuthError
from ..issuer.service import Issuer, RevocationEvent
from .deps import access_claims, bearer_token, issuer_of, secret_matches, settings_of

router = APIRouter(tags=["revocation feed"])
KEEPALIVE_SECONDS = 15.0
#: how long one wait lasts: bounds how late a disconnect or a shutdown is noticed
WAIT_SECONDS = 1.0
PAGE = 500
_EVENT_ID = re.compile(r"[0-9]{1,18}")


async def _authorize(request: Request) -> None:
    if (request.headers.get("authorization") or "")[:5].lower() == "dpop ":
        claims = await access_claims(request)  # a DPoP-bound admin token with its proof
    else:
        token = bearer_token(request)
        secret = settings_of(request).revocation_feed_secret
        if secret is not None and secret_matches(token, secret.get_secret_value()):
            return
        claims = await issuer_of(request).authenticate(token)
    if not claims.is_admin:
        raise AuthError("forbidden", "the revocation feed needs an admin token or the feed secret")


def _start_after(request: Request) -> int | None:
    raw = request.headers.get("last-event-id") or request.query_params.get("after")
    if raw is None or raw == "":
        return None
    if not _EVENT_ID.fullmatch(raw):
        raise AuthError("invalid_request", "Last-Event-ID / after must be an event id")
    return int(raw)


def format_event(event: RevocationEvent) -> str:
    data = json.dumps(event.to_dict(), separators=(",", ":"))
    return f"id: {event.id}\nevent: revocation\ndata: {data}\n\n"


async def _stream(request: Request, issuer: Issuer, after: int | None) -> AsyncIterator[str]:
    stopping: asyncio.Event = request.app.state.stopping
    yield "retry: 3000\n\n"
    if after is not None and after > await issuer.last_revocation_id():
        # the client's ids belong to another (wiped or replaced) database: start over
        yield "event: reset\nid: \ndata: {}\n\n"
        after = None
    while True:  # the backlog, page by page
        events = await issuer.revocation_events(after=after, limit=PAGE)
        for event in events:
            yield format_event(event)
            after = event.id
        if len(events) < PAGE:
            break
    ready = json.dumps({"last_id": after or 0}, separators=(",", ":"))
    yield f"event: ready\ndata: {ready}\n\n"  # the backlog is complete
    quiet = 0.0
    while not stopping.is_set():
        if await request.is_disconnected():
            return
        events = await issuer.wait_for_revocations(after=after, timeout=WAIT_SECONDS)
        if not events:
            quiet += WAIT_SECONDS
            if quiet >= KEEPALIVE_SECONDS:
                quiet = 0.0
                yield ": keep-alive\n\n"
            continue
        quiet = 0.0
        for event in events:
            yield format_event(event)
            after = event.id


@router.get("/auth/revocations", response_class=StreamingResponse)
async def revocations(request: Request) -> StreamingResponse:
    """Stream revocation events (text/event-stream); resume with ``Last-Event-ID``."""
    await _authorize(request)
    after = _start_after(request)
    return StreamingResponse(
        _stream(request, issuer_of(request), after),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )

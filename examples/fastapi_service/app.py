"""An orders API protected by tokensmith (FastAPI). See README.md beside this file.

Run:  ISSUER=http://127.0.0.1:8000 FEED_SECRET=... uvicorn app:app --port 8001
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from tokensmith.resource import (
    AccessToken,
    AccessTokenVerifier,
    FeedOptions,
    RevocationFeed,
    VerifierOptions,
)
from tokensmith.resource.asgi import BearerAuthMiddleware, MiddlewareOptions
from tokensmith.resource.fastapi import Authenticated, require_roles, require_scopes

ISSUER = os.environ.get("ISSUER", "http://127.0.0.1:8000")
AUDIENCE = os.environ.get("AUDIENCE", ISSUER)  # tokensmith serve's default audience
FEED_SECRET = os.environ.get("FEED_SECRET")  # TOKENSMITH_REVOCATION_FEED_SECRET of the server

# Revocations pushed by the auth server: logout, logout-all and disabled users reach
# this API within a second, with no request to the server per verification.
feed = (
    RevocationFeed(ISSUER, token=FEED_SECRET, options=FeedOptions(max_outage=60))
    if FEED_SECRET
    else None
)
verifier = AccessTokenVerifier(
    issuer=ISSUER,  # keys: discovery at ISSUER/.well-known/openid-configuration
    audience=AUDIENCE,
    options=VerifierOptions(revocations=feed),
)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    if feed is not None:
        await feed.start_async()
    yield
    if feed is not None:
        await feed.stop_async()


app = FastAPI(title="orders (protected by tokensmith)", lifespan=lifespan)
app.add_middleware(
    BearerAuthMiddleware,
    verifier=verifier,
    options=MiddlewareOptions(optional=True, exclude_paths=["/docs", "/openapi.json"]),
)

ORDERS: list[dict[str, str]] = []


@app.get("/health")
async def health() -> dict[str, bool]:
    return {"ok": True}


@app.get("/me")
async def me(token: Authenticated) -> dict[str, object]:
    return {"sub": token.subject, "scopes": sorted(token.scopes), "roles": sorted(token.roles)}


@app.get("/orders", dependencies=[require_scopes("profile")])
async def list_orders(token: Authenticated) -> list[dict[str, str]]:
    return [o for o in ORDERS if o["owner"] == token.subject]


@app.post("/orders", status_code=201)
async def create_order(token: Authenticated) -> dict[str, str]:
    order = {"id": str(len(ORDERS) + 1), "owner": token.subject or ""}
    ORDERS.append(order)
    return order


@app.delete("/orders")
async def delete_all(token: AccessToken = require_roles("admin")) -> dict[str, int]:  # noqa: B008
    count = len(ORDERS)
    ORDERS.clear()
    return {"deleted": count}

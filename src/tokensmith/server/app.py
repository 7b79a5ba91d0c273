"""``create_app(settings)``: the one composition root of the HTTP server.

It opens the stores and the :class:`Issuer` at start (migrating the database, creating
keys and the master key on first run), runs key maintenance in a background task, and
closes everything on shutdown. Tests may pass an ``issuer`` they own instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI

from .. import __version__
from ..issuer.service import Issuer
from ..settings import Settings
from . import (
    admin_routes,
    auth_routes,
    client_routes,
    feed,
    inspect_routes,
    meta_routes,
    oauth_routes,
    pages,
)
from .compose import open_issuer
from .errors import install_error_handlers
from .hot import HOT_PATHS, HotRoutes
from .limits import SizeLimits
from .logs import AccessLog
from .metrics import ServerMetrics
from .metrics import router as metrics_router

log = logging.getLogger("tokensmith.server")


async def _maintain_keys(issuer: Issuer, interval: float, stopping: asyncio.Event) -> None:
    while not stopping.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), timeout=interval)
        if stopping.is_set():
            return
        try:
            await issuer.maintain_keys()
        except Exception as exc:  # keep the schedule running; the next tick retries
            log.error("key maintenance failed: %s", type(exc).__name__)


def create_app(
    settings: Settings, *, issuer: Issuer | None = None, short_path: bool = True
) -> FastAPI:
    """The FastAPI application for ``settings``.

    Without ``issuer``, the app opens its own at startup (:func:`open_issuer`) and closes
    it, and its stores, at shutdown. With one, the caller owns it. ``short_path=False``
    sends login and refresh through FastAPI's generic handling too (server/hot.py; the
    tests compare the two).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.stopping = asyncio.Event()
        stores = None
        if issuer is None:
            opened, stores = await open_issuer(settings)
        else:
            opened = issuer
        app.state.issuer = opened
        app.state.metrics.attach(opened)
        task = asyncio.create_task(
            _maintain_keys(opened, settings.key_maintenance_interval, app.state.stopping)
        )
        try:
            yield
        finally:
            app.state.stopping.set()
            await task
            app.state.metrics.detach()
            app.state.issuer = None
            if stores is not None:
                await opened.close()
                await stores.close()

    app = FastAPI(
        title="tokensmith",
        version=__version__,
        description="JWT auth server: accounts, rotating refresh tokens, revocation, JWKS.",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.issuer = None
    app.state.stopping = asyncio.Event()
    install_error_handlers(app)
    app.include_router(meta_routes.router)
    app.include_router(auth_routes.router)
    app.include_router(oauth_routes.router)
    app.include_router(client_routes.router)
    app.include_router(feed.router)
    app.include_router(metrics_router)
    app.include_router(admin_routes.router)
    if settings.pages:
        app.include_router(pages.build_router())
        app.include_router(inspect_routes.router)
    if short_path:
        app.add_middleware(
            HotRoutes,
            routes=auth_routes.router.routes,
            paths=HOT_PATHS,
            handlers=app.exception_handlers,
        )
    if settings.cookie_mode or settings.allowed_origins:
        # listed origins: a registered login client in cookie mode calls from there too
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.origins),
            allow_credentials=True,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "X-CSRF-Token", "DPoP"],
            expose_headers=["DPoP-Nonce"],
            max_age=600,
        )
    app.add_middleware(
        SizeLimits, max_body=settings.max_body_bytes, max_headers=settings.max_header_bytes
    )
    app.state.metrics = ServerMetrics()
    app.add_middleware(AccessLog, observe=app.state.metrics.observe)
    return app

"""The web pages: server-rendered templates plus small ES modules, no build step.

:data:`router` holds every page. Each page module (``user``, and ``admin`` or
``inspector`` when present) has its own ``router`` built with :func:`page_router`, so
all its answers carry the security headers of :mod:`.headers`. To add a page, see
``notes/pages-infra.md``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
from typing import Any

from fastapi import APIRouter

from .headers import PageRoute
from .static import static_file


def page_router(**kwargs: Any) -> APIRouter:
    """An APIRouter for pages: security headers on every answer, left out of OpenAPI."""
    return APIRouter(route_class=PageRoute, include_in_schema=False, **kwargs)


#: Page modules, each with a ``router``; the ones not (yet) present are skipped.
PAGE_MODULES = ("user", "admin", "inspector")


@functools.cache
def present_page_modules() -> tuple[str, ...]:
    """The names of the :data:`PAGE_MODULES` that exist (the nav links only to these)."""
    return tuple(n for n in PAGE_MODULES if importlib.util.find_spec(f"{__name__}.{n}"))


def build_router() -> APIRouter:
    """``/static/...`` and the routers of the page modules that exist."""
    router = page_router()
    router.add_api_route("/static/{path:path}", static_file, methods=["GET"])
    for name in present_page_modules():
        router.include_router(importlib.import_module(f"{__name__}.{name}").router)
    return router


__all__ = ["build_router", "page_router", "present_page_modules"]

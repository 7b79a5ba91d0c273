"""``GET /static/{path}``: the pages' CSS and JavaScript, read from the installed package.

Only files under ``tokensmith/server/static`` with a known suffix are served, each with
its exact content type (and ``nosniff`` from the page headers); anything else is 404.
URLs carry the package version (``?v=``) so a new release is fetched anew.
"""

from __future__ import annotations

import functools
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType

from fastapi import Response

from ... import __version__
from ...issuer.errors import AuthError

CONTENT_TYPES = MappingProxyType(
    {
        ".css": "text/css; charset=utf-8",
        ".js": "text/javascript; charset=utf-8",
        ".svg": "image/svg+xml",
        ".png": "image/png",
        ".ico": "image/x-icon",
    }
)
MAX_AGE = 3600


def static_url(path: str) -> str:
    return f"/static/{path}?v={__version__}"


def _root() -> Traversable:
    return resources.files("tokensmith.server").joinpath("static")


@functools.lru_cache(maxsize=128)
def _read(path: str) -> tuple[bytes, str] | None:
    parts = path.split("/")
    if not path or any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return None
    suffix = "." + parts[-1].rpartition(".")[2] if "." in parts[-1] else ""
    content_type = CONTENT_TYPES.get(suffix.lower())
    if content_type is None:
        return None
    node = _root()
    for part in parts:
        node = node.joinpath(part)
    if not node.is_file():
        return None
    return node.read_bytes(), content_type


def static_file(path: str) -> Response:
    found = _read(path)
    if found is None:
        raise AuthError("not_found", "no such file")
    body, content_type = found
    return Response(
        body,
        media_type=content_type,
        headers={"Cache-Control": f"public, max-age={MAX_AGE}"},
    )

"""The HTTP face of the issuer (FastAPI): routes, error mapping, cookies, the feed.

``create_app(settings)`` is the one composition root (DESIGN.md).
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]

"""The token inspector page (issue 10): paste a JWT or JWE, see it decoded and checked.

Open to everyone; the analysis is ``POST /inspector/analyze`` (:mod:`..inspect_routes`),
which needs no credentials. The page keeps nothing: the token stays in the text area.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse

from . import page_router
from .render import render

router = page_router()


@router.get("/inspector")
async def inspector(request: Request) -> HTMLResponse:
    return render(request, "inspector.html", title="Token inspector", script="inspector.js")

"""Server-side rendering of the pages: one Jinja2 environment over ``pages/templates``.

Autoescaping is on for every template. A page gets ``settings``-derived facts through
:func:`render`'s keyword arguments and passes them to its script in ``data-*``
attributes (there is no inline script to put them in).
"""

from __future__ import annotations

import functools
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from ... import __version__
from ...issuer.config import PAGES_CLIENT_ID
from ..cookies import cookie_names
from ..deps import settings_of
from ..errors import NO_STORE
from . import present_page_modules
from .static import static_url


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("tokensmith.server.pages", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["static"] = static_url
    env.globals["version"] = __version__
    env.globals["page_modules"] = present_page_modules()
    return env


def render(
    request: Request,
    template: str,
    *,
    title: str,
    script: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """``template`` rendered with ``title``, ``context`` and the layout's own values:
    ``script`` (the page's module under ``static/js/``), ``path`` (for the current nav
    item), ``page_modules`` (which page modules exist), ``static()``, and for the scripts
    the web pages' client: its ``client_id``, its CSRF cookie's name and the one origin
    it accepts (the server's own)."""
    settings = settings_of(request)
    html = (
        environment()
        .get_template(template)
        .render(
            title=title,
            script=script,
            path=request.url.path,
            pages_client=PAGES_CLIENT_ID,
            csrf_cookie=cookie_names(PAGES_CLIENT_ID)[1],
            own_origin=settings.own_origin,
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code, headers=NO_STORE)

"""The admin console (issue 10): users, clients, the signing-key timeline, the audit log.

Under ``/console`` (the JSON admin API owns ``/admin``). Each page is a shell anyone may
load; its script restores the session and calls the admin API with the in-memory access
token, so the data needs the admin role. Someone without it sees a message saying so.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from . import page_router
from .render import render

router = page_router()

#: path, title, template and script of each console page; the console's own nav
SECTIONS = (
    ("/console/users", "Users", "admin_users.html", "admin_users.js"),
    ("/console/clients", "OAuth clients", "admin_clients.html", "admin_clients.js"),
    ("/console/keys", "Signing keys", "admin_keys.html", "admin_keys.js"),
    ("/console/audit", "Audit log", "admin_audit.html", "admin_audit.js"),
)


@router.get("/console")
async def console() -> RedirectResponse:
    return RedirectResponse("/console/users", status_code=303)


def _section(path: str, title: str, template: str, script: str) -> None:
    async def page(request: Request) -> HTMLResponse:
        return render(
            request,
            template,
            title=title,
            script=script,
            sections=[(p, t) for p, t, _, _ in SECTIONS],
        )

    page.__name__ = f"console_{path.rsplit('/', 1)[-1]}"
    router.add_api_route(path, page, methods=["GET"])


for _path, _title, _template, _script in SECTIONS:
    _section(_path, _title, _template, _script)

"""The web pages' built-in client on a real ``tokensmith serve`` with the **default
settings** (no cookie mode, no origins, not even an issuer: it is
``http://127.0.0.1:PORT``), as ``make run`` starts it.

Regression: with the defaults the pages signed in as the first-party client (body mode)
and could not keep a session. They sign in as ``tokensmith-pages``: its own ``__Host-``
cookie pair, the CSRF double submit, the server's own origin only. The browser half is
tests/e2e/test_cookie_session.py; the details are tests/unit/server/test_pages_client.py."""

from __future__ import annotations

from typing import Any

from .server_process import PASSWORD, Server
from .test_cookie_mode import _set_cookies

PAGES = {"client_id": "tokensmith-pages"}
REFRESH = "__Host-tokensmith-refresh-tokensmith-pages"
CSRF = "__Host-tokensmith-csrf-tokensmith-pages"


def test_the_pages_sign_in_refresh_and_sign_out_on_a_default_server(make_server: Any) -> None:
    server: Server = make_server(start=False)
    del server.env["TOKENSMITH_ISSUER"]
    server.start()
    own = server.url
    with server.client() as client:
        signin = client.get("/signin")
        assert signin.status_code == 200
        assert "TOKENSMITH_COOKIE_MODE" not in signin.text
        assert f'data-origin="{own}"' in signin.text

        created = client.post("/auth/register", json={"username": "ada", "password": PASSWORD})
        assert created.status_code == 201, created.text
        credentials = {"username": "ada", "password": PASSWORD}

        login = client.post("/auth/login", json={**credentials, **PAGES}, headers={"Origin": own})
        assert login.status_code == 200, login.text
        assert "refresh_token" not in login.json()
        cookies = _set_cookies(login)
        assert set(cookies) == {REFRESH, CSRF}
        refresh, csrf = cookies[REFRESH][0], cookies[CSRF][0]

        def by_cookie(origin: str = own) -> dict[str, str]:
            return {
                "Cookie": f"{REFRESH}={refresh}; {CSRF}={csrf}",
                "X-CSRF-Token": csrf,
                "Origin": origin,
            }

        other_name = own.replace("127.0.0.1", "localhost")
        refused = client.post("/auth/refresh", json=PAGES, headers=by_cookie(other_name))
        assert (refused.status_code, refused.json()["error"]) == (403, "origin_not_allowed")
        rotated = client.post("/auth/refresh", json=PAGES, headers=by_cookie())
        assert rotated.status_code == 200, rotated.text
        cookies = _set_cookies(rotated)
        refresh, csrf = cookies[REFRESH][0], cookies[CSRF][0]

        # the first-party client's JSON contract, on the same default server
        api = client.post("/auth/login", json=credentials)
        assert api.status_code == 200, api.text
        assert api.json()["refresh_token"]
        assert "set-cookie" not in api.headers

        out = client.post("/auth/logout", json=PAGES, headers=by_cookie())
        assert out.status_code == 204
        assert set(_set_cookies(out)) == {REFRESH, CSRF}
        after = client.post("/auth/refresh", json=PAGES, headers=by_cookie())
        assert (after.status_code, after.json()["error"]) == (400, "invalid_grant")


def test_an_api_only_server_serves_no_pages(make_server: Any) -> None:
    """``TOKENSMITH_PAGES=false`` on a real server: no page, no inspector, the pages'
    client refused; the first-party JSON login and refresh work as ever."""
    server: Server = make_server(pages="false")
    with server.client() as client:
        for path in ("/", "/signin", "/console", "/inspector", "/static/css/site.css"):
            assert client.get(path).status_code == 404, path
        assert client.post("/inspector/analyze", json={"token": "a.b.c"}).status_code == 404
        created = client.post("/auth/register", json={"username": "ada", "password": PASSWORD})
        assert created.status_code == 201, created.text
        credentials = {"username": "ada", "password": PASSWORD}
        refused = client.post(
            "/auth/login", json={**credentials, **PAGES}, headers={"Origin": server.url}
        )
        assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
        login = client.post("/auth/login", json=credentials)
        assert login.status_code == 200, login.text
        refreshed = client.post(
            "/auth/refresh", json={"refresh_token": login.json()["refresh_token"]}
        )
        assert refreshed.status_code == 200, refreshed.text

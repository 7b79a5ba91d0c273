"""Cookie mode for SPAs: refresh token only in a __Host- cookie, CSRF + Origin checks.

httpx's cookie jar would not send ``Secure`` cookies over http://127.0.0.1, so the tests
carry the cookies by hand, as a browser would on https."""

from __future__ import annotations

from http.cookies import SimpleCookie

import httpx
import pytest

from .server_process import Server

APP = "https://app.example"
REFRESH = "__Host-tokensmith-refresh"
CSRF = "__Host-tokensmith-csrf"


@pytest.fixture
def cookie_server(make_server: object) -> Server:
    server: Server = make_server(cookie_mode="true", allowed_origins=APP)  # type: ignore[operator]
    return server


def _set_cookies(response: httpx.Response) -> dict[str, tuple[str, str]]:
    """name -> (value, the whole Set-Cookie line)."""
    out = {}
    for line in response.headers.get_list("set-cookie"):
        jar: SimpleCookie = SimpleCookie()
        jar.load(line)
        for name, morsel in jar.items():
            out[name] = (morsel.value, line)
    return out


def _login(server: Server, client: httpx.Client) -> httpx.Response:
    client.post("/auth/register", json={"username": "spa", "password": "correct horse battery"})
    return client.post(
        "/auth/login",
        json={"username": "spa", "password": "correct horse battery"},
        headers={"Origin": APP},
    )


def _cookie_header(refresh: str, csrf: str) -> str:
    return f"{REFRESH}={refresh}; {CSRF}={csrf}"


def test_login_puts_the_refresh_token_only_in_a_host_cookie(cookie_server: Server) -> None:
    with cookie_server.client() as client:
        login = _login(cookie_server, client)
    assert login.status_code == 200, login.text
    body = login.json()
    assert "refresh_token" not in body
    assert body["access_token"]
    assert body["csrf_token"]
    cookies = _set_cookies(login)
    refresh_value, refresh_line = cookies[REFRESH]
    assert refresh_value not in login.text
    lowered = refresh_line.lower()
    for attribute in ("httponly", "secure", "samesite=strict", "path=/"):
        assert attribute in lowered
    assert "domain=" not in lowered
    assert cookies[CSRF][0] == body["csrf_token"]


def test_refresh_by_cookie_needs_matching_csrf_and_an_allowed_origin(
    cookie_server: Server,
) -> None:
    with cookie_server.client() as client:
        login = _login(cookie_server, client)
        refresh = _set_cookies(login)[REFRESH][0]
        csrf = login.json()["csrf_token"]
        good = {"Cookie": _cookie_header(refresh, csrf), "X-CSRF-Token": csrf, "Origin": APP}
        refused = {
            "no csrf header": {k: v for k, v in good.items() if k != "X-CSRF-Token"},
            "wrong csrf header": {**good, "X-CSRF-Token": "forged"},
            "no origin": {k: v for k, v in good.items() if k != "Origin"},
            "foreign origin": {**good, "Origin": "https://evil.example"},
        }
        for name, headers in refused.items():
            response = client.post("/auth/refresh", headers=headers)
            assert response.status_code == 403, name
            assert response.json()["error"] in ("csrf_failed", "origin_not_allowed"), name
        in_body = client.post("/auth/refresh", json={"refresh_token": refresh}, headers=good)
        assert in_body.status_code == 400

        ok = client.post("/auth/refresh", headers=good)
        assert ok.status_code == 200, ok.text
        assert "refresh_token" not in ok.json()
        rotated = _set_cookies(ok)[REFRESH][0]
        assert rotated != refresh
        new_csrf = ok.json()["csrf_token"]

        logout_headers = {
            "Cookie": _cookie_header(rotated, new_csrf),
            "X-CSRF-Token": "forged",
            "Origin": APP,
        }
        assert client.post("/auth/logout", headers=logout_headers).status_code == 403
        logout_headers["X-CSRF-Token"] = new_csrf
        out = client.post("/auth/logout", headers=logout_headers)
        assert out.status_code == 204
        cleared = _set_cookies(out)
        assert cleared[REFRESH][0] == ""
        assert "max-age=0" in cleared[REFRESH][1].lower()
        after = client.post(
            "/auth/refresh",
            headers={**good, "Cookie": _cookie_header(rotated, new_csrf), "X-CSRF-Token": new_csrf},
        )
        assert after.status_code == 400
        assert after.json()["error"] == "invalid_grant"


def test_cors_preflight_allows_the_configured_origin_only(cookie_server: Server) -> None:
    with cookie_server.client() as client:
        allowed = client.options(
            "/auth/refresh",
            headers={
                "Origin": APP,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-csrf-token",
            },
        )
        other = client.options(
            "/auth/refresh",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
    assert allowed.headers["access-control-allow-origin"] == APP
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in other.headers

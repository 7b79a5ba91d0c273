"""Per-client cookie mode over real HTTP (issue 6, docs/cookie-mode.md): a registered
public *login client* (grant ``refresh_token``) logs users in at ``/auth/login`` with its
``client_id``; with ``cookie_mode`` on its refresh tokens travel only in its own
``__Host-`` cookie (HttpOnly, Secure, SameSite=Strict) with the CSRF double submit and
the Origin check, at ``/auth/login``, ``/auth/refresh`` and ``/oauth/token``; with it off
they are in the body. The server-wide ``cookie_mode`` (the first-party client's) is off
here. httpx does not send ``Secure`` cookies over http://127.0.0.1, so the tests carry
them by hand, as a browser would on https."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tokensmith.jose import jwt

from .server_process import PASSWORD, Server
from .test_clients import add_client
from .test_cookie_mode import _set_cookies

APP = "https://app.example"
REFRESH = "__Host-tokensmith-refresh-spa2"
CSRF = "__Host-tokensmith-csrf-spa2"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def server(make_server: Any) -> Server:
    started: Server = make_server(allowed_origins=APP, signing_algs="EdDSA")
    return started


def _by_cookie(refresh: str, csrf: str) -> dict[str, str]:
    return {"Cookie": f"{REFRESH}={refresh}; {CSRF}={csrf}", "X-CSRF-Token": csrf, "Origin": APP}


def _login(client: httpx.Client, client_id: str | None, **headers: str) -> httpx.Response:
    body = {"username": "alice", "password": PASSWORD}
    if client_id is not None:
        body["client_id"] = client_id
    return client.post("/auth/login", json=body, headers=headers)


def test_a_cookie_mode_login_client_gets_its_refresh_token_only_in_its_cookie(
    server: Server,
) -> None:
    created = add_client(
        server,
        "spa2",
        "--public",
        "--grant",
        "refresh_token",
        "--cookie-mode",
        "--signing-alg",
        "EdDSA",
    )
    assert (created["cookie_mode"], created["grant_types"]) == (True, ["refresh_token"])
    assert "client_secret" not in created
    with server.client() as client:
        server.register_and_login(client, "alice")  # the first-party client: body mode
        login = _login(client, "spa2", Origin=APP)
        assert login.status_code == 200, login.text
        body = login.json()
        assert "refresh_token" not in body
        claims = jwt.peek(body["access_token"])
        assert claims.claims["client_id"] == "spa2"
        assert claims.header["alg"] == "EdDSA"
        cookies = _set_cookies(login)
        refresh, line = cookies[REFRESH]
        assert refresh not in login.text
        for attribute in ("httponly", "secure", "samesite=strict", "path=/"):
            assert attribute in line.lower()
        assert "domain=" not in line.lower()
        assert cookies[CSRF][0] == body["csrf_token"]
        assert "__Host-tokensmith-refresh" not in cookies  # the first-party cookie untouched
        # the session belongs to spa2: the user's sessions list says so
        listed = client.get(
            "/auth/sessions", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert {s["client_id"] for s in listed.json()} == {"first-party", "spa2"}
        # a login from a foreign Origin is refused before the password is checked
        foreign = _login(client, "spa2", Origin="https://evil.example")
        assert foreign.status_code == 403
        assert foreign.json()["error"] == "origin_not_allowed"

        # /auth/refresh names the client; CSRF and Origin are checked
        good = _by_cookie(refresh, body["csrf_token"])
        spa2 = {"client_id": "spa2"}
        for name, headers in {
            "no csrf header": {k: v for k, v in good.items() if k != "X-CSRF-Token"},
            "wrong csrf header": {**good, "X-CSRF-Token": "forged"},
            "no origin": {k: v for k, v in good.items() if k != "Origin"},
            "foreign origin": {**good, "Origin": "https://evil.example"},
        }.items():
            refused = client.post("/auth/refresh", json=spa2, headers=headers)
            assert refused.status_code == 403, name
        in_body = client.post(
            "/auth/refresh", json={**spa2, "refresh_token": refresh}, headers=good
        )
        assert in_body.status_code == 400
        assert in_body.json()["error"] == "invalid_request"
        # its token never refreshes as the first-party client (nor gets into a body)
        other = client.post("/auth/refresh", json={"refresh_token": refresh})
        assert other.status_code == 400
        assert other.json()["error"] == "invalid_grant"
        ok = client.post("/auth/refresh", json=spa2, headers=good)
        assert ok.status_code == 200, ok.text
        assert "refresh_token" not in ok.json()
        assert jwt.peek(ok.json()["access_token"]).header["alg"] == "EdDSA"
        rotated, csrf = _set_cookies(ok)[REFRESH][0], ok.json()["csrf_token"]
        assert rotated != refresh

        # /oauth/token refresh_token grant: the cookie too, never a form refresh_token
        form = {"grant_type": "refresh_token", "client_id": "spa2"}
        headers = {**FORM, **_by_cookie(rotated, csrf)}
        forged = client.post(
            "/oauth/token", data=form, headers={**headers, "X-CSRF-Token": "forged"}
        )
        assert forged.status_code == 403
        in_form = client.post(
            "/oauth/token", data={**form, "refresh_token": rotated}, headers=headers
        )
        assert in_form.status_code == 400
        assert in_form.json()["error"] == "invalid_request"
        token = client.post("/oauth/token", data=form, headers=headers)
        assert token.status_code == 200, token.text
        assert "refresh_token" not in token.json()
        assert token.json()["token_type"] == "Bearer"
        third, csrf = _set_cookies(token)[REFRESH][0], token.json()["csrf_token"]
        assert third not in (refresh, rotated)
        # the consumed one, past the grace window (S25), is reuse: the session ends
        server.advance(11)
        replayed = {**FORM, **_by_cookie(rotated, csrf)}
        replay = client.post("/oauth/token", data=form, headers=replayed)
        assert replay.status_code == 400
        assert replay.json()["error"] == "invalid_grant"


def test_logout_by_the_clients_cookie_clears_it(server: Server) -> None:
    add_client(server, "spa2", "--public", "--grant", "refresh_token", "--cookie-mode")
    with server.client() as client:
        server.register_and_login(client, "alice")
        login = _login(client, "spa2", Origin=APP)
        refresh, csrf = _set_cookies(login)[REFRESH][0], login.json()["csrf_token"]
        spa2 = {"client_id": "spa2"}
        forged = client.post(
            "/auth/logout", json=spa2, headers={**_by_cookie(refresh, csrf), "X-CSRF-Token": "x"}
        )
        assert forged.status_code == 403
        out = client.post("/auth/logout", json=spa2, headers=_by_cookie(refresh, csrf))
        assert out.status_code == 204
        cleared = _set_cookies(out)
        assert cleared[REFRESH][0] == ""
        assert "max-age=0" in cleared[REFRESH][1].lower()
        after = client.post("/auth/refresh", json=spa2, headers=_by_cookie(refresh, csrf))
        assert after.status_code == 400
        assert after.json()["error"] == "invalid_grant"


def test_a_login_client_without_cookie_mode_gets_its_refresh_token_in_the_body(
    server: Server,
) -> None:
    add_client(server, "spa3", "--public", "--grant", "refresh_token")
    with server.client() as client:
        server.register_and_login(client, "alice")
        login = _login(client, "spa3")
        assert login.status_code == 200, login.text
        assert "set-cookie" not in login.headers
        refresh = login.json()["refresh_token"]
        assert jwt.peek(login.json()["access_token"]).claims["client_id"] == "spa3"
        again = client.post("/auth/refresh", json={"client_id": "spa3", "refresh_token": refresh})
        assert again.status_code == 200, again.text
        token = client.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "client_id": "spa3",
                "refresh_token": again.json()["refresh_token"],
            },
        )
        assert token.status_code == 200, token.text
        assert token.json()["refresh_token"]
        assert jwt.peek(token.json()["access_token"]).claims["client_id"] == "spa3"
        # spa3's token is not the first-party client's, at /oauth/token either
        stray = client.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": token.json()["refresh_token"]},
        )
        assert stray.status_code == 400
        assert stray.json()["error"] == "invalid_grant"


def test_only_enabled_public_login_clients_log_users_in(server: Server) -> None:
    add_client(server, "svc", "--audience", "api")  # confidential, client_credentials
    add_client(server, "pub", "--public")  # public, no refresh_token grant
    add_client(server, "spa3", "--public", "--grant", "refresh_token")
    refused = server.cli("clients", "add", "x", "--cookie-mode", "--audience", "api")
    assert refused.returncode == 1
    assert "cookie_mode" in refused.stderr
    confidential = server.cli("clients", "add", "x", "--grant", "refresh_token")
    assert confidential.returncode == 1
    assert "public clients" in confidential.stderr
    with server.client() as client:
        server.register_and_login(client, "alice")
        for client_id, status, error in (
            ("nobody", 401, "invalid_client"),
            ("svc", 401, "invalid_client"),
            ("pub", 400, "unauthorized_client"),
        ):
            answer = _login(client, client_id)
            assert (answer.status_code, answer.json()["error"]) == (status, error), client_id
        login = _login(client, "spa3")
        refresh = login.json()["refresh_token"]
        assert server.cli("clients", "disable", "spa3").returncode == 0
        disabled = _login(client, "spa3")
        assert (disabled.status_code, disabled.json()["error"]) == (401, "invalid_client")
        refreshed = client.post(
            "/auth/refresh", json={"client_id": "spa3", "refresh_token": refresh}
        )
        assert refreshed.status_code == 400
        assert refreshed.json()["error"] == "invalid_grant"


def test_admin_api_creates_a_cookie_mode_login_client(server: Server) -> None:
    made = server.cli("users", "add", "root", "--admin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    with server.client() as client:
        login = client.post("/auth/login", json={"username": "root", "password": PASSWORD})
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        body = {
            "name": "spa4",
            "token_endpoint_auth_method": "none",
            "grant_types": ["refresh_token"],
            "cookie_mode": True,
            "signing_alg": "EdDSA",
        }
        created = client.post("/admin/clients", json=body, headers=admin)
        assert created.status_code == 201, created.text
        answer = created.json()
        assert (answer["cookie_mode"], answer["signing_alg"]) == (True, "EdDSA")
        assert "client_secret" not in answer
        bad = client.post(
            "/admin/clients",
            json={"name": "svc5", "audiences": ["a"], "cookie_mode": True},
            headers=admin,
        )
        assert bad.status_code == 400
        assert bad.json()["error"] == "invalid_client_metadata"
        spa4 = client.post(
            "/auth/login",
            json={"username": "root", "password": PASSWORD, "client_id": "spa4"},
            headers={"Origin": APP},
        )
        assert spa4.status_code == 200, spa4.text
        assert "refresh_token" not in spa4.json()
        assert "__Host-tokensmith-refresh-spa4" in _set_cookies(spa4)


def test_cors_preflight_allows_the_listed_origin_without_server_wide_cookie_mode(
    server: Server,
) -> None:
    preflight = {"Access-Control-Request-Method": "POST"}
    with server.client() as client:
        answers = {
            origin: client.options("/auth/refresh", headers={**preflight, "Origin": origin})
            for origin in (APP, "https://evil.example")
        }
    assert answers[APP].headers["access-control-allow-origin"] == APP
    assert answers[APP].headers["access-control-allow-credentials"] == "true"
    assert "access-control-allow-origin" not in answers["https://evil.example"].headers

"""The web pages' built-in client over HTTP, in process (httpx's ASGI transport, a real
Issuer over memory stores, a fixed clock), with the **default settings**.

Regression: with the defaults the pages signed in as the first-party client, whose
cookie mode is the ``cookie_mode`` setting (off), so signing in on the pages did not
work. The pages now sign in as ``tokensmith-pages``: always in cookie mode, its own
``__Host-`` cookie pair, CSRF double submit, and only the server's own origin; the
first-party client's JSON contract (``refresh_token`` in the body) is untouched.

The transport keeps no cookies (they are ``Secure`` and this is http), so the tests carry
them by hand, as a browser does."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from contract.support import MASTER_KEY, CountingHasher, FakeClock, make_config
from tokensmith.issuer.config import PAGES_CLIENT_ID
from tokensmith.issuer.service import Issuer
from tokensmith.jose import jwt
from tokensmith.server import create_app
from tokensmith.server.compose import open_issuer
from tokensmith.settings import load_settings
from tokensmith.store import ClientRecord, memory_stores

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"
OWN = "http://127.0.0.1:8000"  # the issuer's origin (the default issuer URL)
REFRESH = "__Host-tokensmith-refresh-tokensmith-pages"
CSRF = "__Host-tokensmith-csrf-tokensmith-pages"
PAGES = {"client_id": PAGES_CLIENT_ID}


@dataclass
class Site:
    issuer: Issuer
    clock: FakeClock
    http: httpx.AsyncClient

    async def login(self, client_id: str | None = PAGES_CLIENT_ID, **headers: str) -> Any:
        body = {"username": "alice", "password": PASSWORD}
        if client_id is not None:
            body["client_id"] = client_id
        return await self.http.post("/auth/login", json=body, headers=headers)


def set_cookies(response: httpx.Response) -> dict[str, tuple[str, str]]:
    """name -> (value, the whole Set-Cookie line)."""
    out = {}
    for line in response.headers.get_list("set-cookie"):
        name, _, rest = line.partition("=")
        out[name] = (rest.split(";", 1)[0], line)
    return out


def by_cookie(refresh: str, csrf: str, origin: str | None = OWN) -> dict[str, str]:
    headers = {"Cookie": f"{REFRESH}={refresh}; {CSRF}={csrf}", "X-CSRF-Token": csrf}
    if origin is not None:
        headers["Origin"] = origin
    return headers


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def register_login_client(site: Site, name: str, auth: dict[str, str]) -> Any:
    """An admin's POST /admin/clients for a public login client named ``name``."""
    return await site.http.post(
        "/admin/clients",
        json={
            "name": name,
            "token_endpoint_auth_method": "none",
            "grant_types": ["refresh_token"],
            "cookie_mode": False,
        },
        headers=auth,
    )


async def _site(**settings: Any) -> AsyncIterator[Site]:
    clock = FakeClock()
    stores = memory_stores()
    loaded = load_settings(**settings)
    config = make_config(pages_client=loaded.pages)  # as compose.issuer_config does
    issuer = await Issuer.open(
        config, stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
    )
    await issuer.add_user(username="alice", password=PASSWORD)
    await issuer.add_user(username="root", password=PASSWORD, admin=True)
    app = create_app(loaded, issuer=issuer)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=OWN) as http,
    ):
        yield Site(issuer, clock, http)
    await issuer.close()
    await stores.close()


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    async for made in _site():
        yield made


async def test_with_default_settings_the_pages_login_sets_its_own_host_cookies(
    site: Site,
) -> None:
    login = await site.login(Origin=OWN)
    assert login.status_code == 200, login.text
    body = login.json()
    assert "refresh_token" not in body
    cookies = set_cookies(login)
    assert set(cookies) == {REFRESH, CSRF}  # not the first-party client's pair
    refresh, line = cookies[REFRESH]
    assert refresh not in login.text
    for attribute in ("httponly", "secure", "samesite=strict", "path=/"):
        assert attribute in line.lower()
    assert "domain=" not in line.lower()
    assert "httponly" not in cookies[CSRF][1].lower()
    assert cookies[CSRF][0] == body["csrf_token"]

    claims = jwt.peek(body["access_token"]).claims
    assert (claims["client_id"], claims["aud"]) == (PAGES_CLIENT_ID, OWN)
    me = await site.http.get("/userinfo", headers=bearer(body["access_token"]))
    assert me.json()["preferred_username"] == "alice"
    sessions = await site.http.get("/auth/sessions", headers=bearer(body["access_token"]))
    assert [s["client_id"] for s in sessions.json()] == [PAGES_CLIENT_ID]
    (event,) = await site.issuer.audit_events(kind="login_ok")
    assert event.details["client_id"] == PAGES_CLIENT_ID


async def test_first_party_json_login_still_answers_with_the_refresh_token_in_the_body(
    site: Site,
) -> None:
    """Issue 5's contract, with the pages working next to it."""
    for headers in ({}, {"Origin": OWN}):
        login = await site.login(client_id=None, **headers)
        assert login.status_code == 200, login.text
        body = login.json()
        assert body["refresh_token"]
        assert "csrf_token" not in body
        assert "set-cookie" not in login.headers
        assert jwt.peek(body["access_token"]).claims["client_id"] == "first-party"
        refreshed = await site.http.post(
            "/auth/refresh", json={"refresh_token": body["refresh_token"]}
        )
        assert refreshed.status_code == 200, refreshed.text
        assert refreshed.json()["refresh_token"]


@pytest.mark.parametrize(
    ("origin", "status"),
    [(None, 403), ("https://evil.example", 403), ("http://localhost:8000", 403), (OWN, 200)],
    ids=["no-origin", "foreign", "same-host-other-name", "own"],
)
async def test_the_pages_client_signs_in_only_from_the_servers_own_origin(
    site: Site, origin: str | None, status: int
) -> None:
    headers = {} if origin is None else {"Origin": origin}
    login = await site.login(**headers)
    assert login.status_code == status, login.text
    if status == 403:
        assert login.json()["error"] == "origin_not_allowed"
        assert "set-cookie" not in login.headers
        # refused before the password is checked: no failure counted, no session
        assert await site.issuer.audit_events(kind="login_failed") == []
        assert await site.issuer.audit_events(kind="login_ok") == []


async def test_refresh_by_the_pages_cookie_needs_the_own_origin_and_the_csrf_token(
    site: Site,
) -> None:
    login = await site.login(Origin=OWN)
    cookies = set_cookies(login)
    refresh, csrf = cookies[REFRESH][0], cookies[CSRF][0]
    refused = {
        "no-origin": by_cookie(refresh, csrf, origin=None),
        "foreign-origin": by_cookie(refresh, csrf, origin="https://evil.example"),
        "no-csrf-header": {
            k: v for k, v in by_cookie(refresh, csrf).items() if k != "X-CSRF-Token"
        },
        "wrong-csrf": {**by_cookie(refresh, csrf), "X-CSRF-Token": "guess"},
    }
    for why, headers in refused.items():
        answer = await site.http.post("/auth/refresh", json=PAGES, headers=headers)
        assert answer.status_code == 403, why
        assert answer.json()["error"] in ("origin_not_allowed", "csrf_failed"), why
    # the token travels only in the cookie: in the body it is refused, not consumed
    in_body = await site.http.post(
        "/auth/refresh", json={**PAGES, "refresh_token": refresh}, headers=by_cookie(refresh, csrf)
    )
    assert (in_body.status_code, in_body.json()["error"]) == (400, "invalid_request")
    # the first-party client (body mode) cannot turn it into a body answer either
    as_first_party = await site.http.post("/auth/refresh", json={"refresh_token": refresh})
    assert (as_first_party.status_code, as_first_party.json()["error"]) == (400, "invalid_grant")

    site.clock.advance(60)
    rotated = await site.http.post("/auth/refresh", json=PAGES, headers=by_cookie(refresh, csrf))
    assert rotated.status_code == 200, rotated.text
    assert "refresh_token" not in rotated.json()
    renewed = set_cookies(rotated)
    assert renewed[REFRESH][0] != refresh
    assert renewed[CSRF][0] == rotated.json()["csrf_token"] != csrf

    # reuse detection, unchanged: the old cookie after the grace window ends the session
    site.clock.advance(site.issuer.config.refresh_grace + 1)
    reused = await site.http.post("/auth/refresh", json=PAGES, headers=by_cookie(refresh, csrf))
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    child = await site.http.post(
        "/auth/refresh", json=PAGES, headers=by_cookie(renewed[REFRESH][0], renewed[CSRF][0])
    )
    assert child.status_code == 400
    assert await site.issuer.audit_events(kind="refresh_reuse_detected")


async def test_the_oauth_token_endpoint_holds_the_pages_cookie_mode_too(site: Site) -> None:
    cookies = set_cookies(await site.login(Origin=OWN))
    refresh, csrf = cookies[REFRESH][0], cookies[CSRF][0]
    form = {"grant_type": "refresh_token", "client_id": PAGES_CLIENT_ID}
    in_form = await site.http.post("/oauth/token", data={**form, "refresh_token": refresh})
    assert (in_form.status_code, in_form.json()["error"]) == (400, "invalid_request")
    foreign = await site.http.post(
        "/oauth/token", data=form, headers=by_cookie(refresh, csrf, origin="https://evil.example")
    )
    assert foreign.status_code == 403
    answer = await site.http.post("/oauth/token", data=form, headers=by_cookie(refresh, csrf))
    assert answer.status_code == 200, answer.text
    assert "refresh_token" not in answer.json()
    assert REFRESH in set_cookies(answer)


async def test_sign_out_and_sign_out_everywhere_cover_the_pages_sessions(site: Site) -> None:
    first = await site.login(Origin=OWN)
    second = await site.login(Origin=OWN)
    api = (await site.login(client_id=None)).json()  # a first-party (API) session too
    cookies = set_cookies(first)

    out = await site.http.post(
        "/auth/logout", json=PAGES, headers=by_cookie(cookies[REFRESH][0], cookies[CSRF][0])
    )
    assert out.status_code == 204
    cleared = set_cookies(out)
    assert set(cleared) == {REFRESH, CSRF}
    assert all("max-age=0" in line.lower() for _, line in cleared.values())
    (logout,) = await site.issuer.audit_events(kind="logout")
    assert logout.details["client_id"] == PAGES_CLIENT_ID

    token = second.json()["access_token"]
    listed = await site.http.get("/auth/sessions", headers=bearer(token))
    assert sorted(s["client_id"] for s in listed.json()) == ["first-party", PAGES_CLIENT_ID]
    everywhere = await site.http.post("/auth/logout-all", headers=bearer(token))
    assert everywhere.json() == {"revoked": 2}
    assert set(set_cookies(everywhere)) == {REFRESH, CSRF}  # this page's cookies go too
    for gone in (token, api["access_token"]):
        assert (await site.http.get("/userinfo", headers=bearer(gone))).status_code == 401
    second_cookies = set_cookies(second)
    after = await site.http.post(
        "/auth/refresh",
        json=PAGES,
        headers=by_cookie(second_cookies[REFRESH][0], second_cookies[CSRF][0]),
    )
    assert after.status_code == 400
    assert (
        await site.http.post("/auth/refresh", json={"refresh_token": api["refresh_token"]})
    ).status_code == 400


async def test_an_admin_signed_in_on_the_pages_uses_the_admin_api(site: Site) -> None:
    login = await site.http.post(
        "/auth/login",
        json={"username": "root", "password": PASSWORD, **PAGES},
        headers={"Origin": OWN},
    )
    users = await site.http.get("/admin/users", headers=bearer(login.json()["access_token"]))
    assert users.status_code == 200, users.text


@pytest.mark.parametrize("name", [PAGES_CLIENT_ID, "TOKENSMITH-PAGES"])
async def test_the_reserved_client_id_cannot_be_registered(site: Site, name: str) -> None:
    login = await site.http.post(
        "/auth/login",
        json={"username": "root", "password": PASSWORD, **PAGES},
        headers={"Origin": OWN},
    )
    auth = bearer(login.json()["access_token"])
    created = await register_login_client(site, name, auth)
    assert (created.status_code, created.json()["error"]) == (409, "client_exists")
    assert (
        await site.http.get(f"/admin/clients/{PAGES_CLIENT_ID}", headers=auth)
    ).status_code == 404
    disabled = await site.http.post(f"/admin/clients/{PAGES_CLIENT_ID}/disable", headers=auth)
    assert disabled.status_code == 404
    # the pages still sign in
    assert (await site.login(Origin=OWN)).status_code == 200


async def test_with_cookie_mode_on_each_client_keeps_its_own_cookies() -> None:
    """TOKENSMITH_COOKIE_MODE=true still does what docs/cookie-mode.md says for the
    first-party client (origins: allowed_origins); the pages' client is unchanged and
    still accepts only the server's own origin."""
    app = "https://app.example"
    async for site in _site(cookie_mode=True, allowed_origins=[app]):
        first_party = await site.login(client_id=None, Origin=app)
        assert first_party.status_code == 200, first_party.text
        assert "refresh_token" not in first_party.json()
        assert set(set_cookies(first_party)) == {
            "__Host-tokensmith-refresh",
            "__Host-tokensmith-csrf",
        }
        pages = await site.login(Origin=OWN)
        assert pages.status_code == 200, pages.text
        assert set(set_cookies(pages)) == {REFRESH, CSRF}
        # the SPA's listed origin is not the pages' origin
        assert (await site.login(Origin=app)).status_code == 403


async def test_a_listed_origin_with_its_default_port_matches_the_browsers_origin() -> None:
    """Browsers leave the default port out of ``Origin``: an origin configured as
    ``https://app.example:443`` is the one they send as ``https://app.example``."""
    async for site in _site(cookie_mode=True, allowed_origins=["https://App.example:443"]):
        login = await site.login(client_id=None, Origin="https://app.example")
        assert login.status_code == 200, login.text
        assert (
            await site.login(client_id=None, Origin="https://app.example:8443")
        ).status_code == 403


async def test_a_client_registered_with_the_id_before_it_was_reserved_is_named_at_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A database from before the pages' client may hold a client with its id: logins
    with it are the pages' now, and the operator is told at start."""
    settings = load_settings(data_dir=tmp_path, argon2_memory_cost=1024, argon2_time_cost=1)
    issuer, stores = await open_issuer(settings)
    await stores.clients.create(
        ClientRecord(
            client_id=PAGES_CLIENT_ID,
            name=PAGES_CLIENT_ID,
            auth_method="none",
            created_at=0.0,
            updated_at=0.0,
            grant_types=("refresh_token",),
        )
    )
    await issuer.close()
    await stores.close()
    with caplog.at_level(logging.WARNING, logger="tokensmith.server"):
        issuer, stores = await open_issuer(settings)
    await issuer.close()
    await stores.close()
    assert any(PAGES_CLIENT_ID in r.getMessage() for r in caplog.records)


async def test_with_the_pages_off_there_are_no_pages_and_no_pages_client() -> None:
    """``TOKENSMITH_PAGES=false`` (an API-only server): no page, no inspector, and the
    pages' client id is an unknown client's; the first-party JSON login is unchanged."""
    paths = (
        "/",
        "/signin",
        "/signup",
        "/account",
        "/console",
        "/inspector",
        "/static/css/site.css",
    )
    async for site in _site():
        for path in paths:
            assert (await site.http.get(path)).status_code in (200, 303), path
    async for site in _site(pages=False):
        for path in paths:
            assert (await site.http.get(path)).status_code == 404, path
        analyze = await site.http.post("/inspector/analyze", json={"token": "a.b.c"})
        assert analyze.status_code == 404
        refused = await site.login(Origin=OWN)
        assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")
        assert set_cookies(refused) == {}
        first_party = await site.login(client_id=None)
        assert first_party.status_code == 200, first_party.text
        assert "refresh_token" in first_party.json()
        # the id stays reserved: no registered client can take it while the pages are off
        root = await site.http.post("/auth/login", json={"username": "root", "password": PASSWORD})
        created = await register_login_client(
            site, PAGES_CLIENT_ID, bearer(root.json()["access_token"])
        )
        assert (created.status_code, created.json()["error"]) == (409, "client_exists")

"""The SPA cookie flow in a real browser: the access token in memory only, the refresh
token in an HttpOnly ``__Host-`` cookie, silent refresh, reload, sign out everywhere.

All against a server with the **default settings** (``default_server``: no cookie mode,
no origins, no issuer), as ``make run`` starts it. Regression: the pages signed in as
the first-party client, whose cookie mode is off by default, and said "These pages need
cookie mode"; they now sign in as their own built-in client, ``tokensmith-pages``."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from integration.server_process import PASSWORD, Server

from .conftest import DEFAULT_ACCESS_TTL as ACCESS_TTL
from .conftest import shot, sign_in, sign_up, unique

PAGES_CLIENT = "tokensmith-pages"
REFRESH = f"__Host-tokensmith-refresh-{PAGES_CLIENT}"
CSRF = f"__Host-tokensmith-csrf-{PAGES_CLIENT}"
FIRST_PARTY_COOKIES = {"__Host-tokensmith-refresh", "__Host-tokensmith-csrf"}


def _storage(page: Any) -> dict[str, int]:
    return page.evaluate("({local: localStorage.length, session: sessionStorage.length})")


def _tokens_seen(page: Any) -> list[str]:
    """Collect the access tokens the page receives (login and refresh answers). Every
    page load restores the session by a refresh; an answer whose page has already moved
    on (the sign-in page's login) may have no body left to read."""
    seen: list[str] = []

    def on_response(response: Any) -> None:
        if response.url.endswith(("/auth/login", "/auth/refresh")) and response.ok:
            with contextlib.suppress(Exception):
                seen.append(json.loads(response.body())["access_token"])

    page.on("response", on_response)
    return seen


def test_sign_up_then_sign_in_keeps_every_token_away_from_script_storage_and_urls(
    default_server: Server, new_page: Any
) -> None:
    page = new_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    tokens = _tokens_seen(page)
    username = unique("ada")

    page.goto(f"{default_server.url}/signup")
    shot(page, "signup")
    assert page.locator("[data-bind=setup-notice]").is_hidden()  # nothing to set up
    assert "cookie mode" not in page.locator("main").inner_text()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(f"{default_server.url}/account")
    page.get_by_role("button", name="Sign out", exact=True).first.click()
    page.wait_for_url("**/signin?**")
    assert "You are signed out." in page.locator("main").inner_text()
    assert REFRESH not in {c["name"] for c in page.context.cookies()}  # cleared by logout
    shot(page, "signin-signed-out")

    sign_in(page, default_server, username)
    page.locator("tbody tr").first.wait_for()
    shot(page, "account-after-signup")

    assert page.locator("tbody tr.current td[data-label=App]").inner_text() == "These pages"
    cookies = {c["name"]: c for c in page.context.cookies()}
    assert not FIRST_PARTY_COOKIES & set(cookies)  # the pages' own pair only
    refresh = cookies[REFRESH]
    assert refresh["httpOnly"] is True
    assert refresh["secure"] is True
    assert refresh["sameSite"] == "Strict"
    assert refresh["path"] == "/"
    visible = page.evaluate("document.cookie")
    assert REFRESH not in visible
    assert refresh["value"] not in visible
    assert CSRF in visible  # the double-submit token is meant to be readable
    assert _storage(page) == {"local": 0, "session": 0}

    assert tokens  # at least the account page's own refresh
    for token in tokens:
        assert all(token not in c["value"] for c in cookies.values())
        assert all(token not in url for url in urls)
        assert token not in visible
    assert all(refresh["value"] not in url for url in urls)

    # the first-party client on the same server keeps its JSON contract (issue 5)
    with default_server.client() as client:
        login = client.post("/auth/login", json={"username": username, "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["refresh_token"]
    assert "set-cookie" not in login.headers


def test_the_pages_say_where_to_open_them_at_another_address_of_the_server(
    default_server: Server, new_page: Any
) -> None:
    """The pages' client accepts only the server's own origin (its issuer URL): at
    another name for the same server the page says where to go, and a sign-in attempt
    is refused in words (nothing is set)."""
    username = unique("fay")
    sign_up(default_server, username)
    page = new_page()
    elsewhere = default_server.url.replace("127.0.0.1", "localhost")
    page.goto(f"{elsewhere}/signin")
    notice = page.locator("[data-bind=setup-notice]")
    notice.wait_for()
    assert f"sign in only at {default_server.url}" in notice.inner_text()
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_response("**/auth/login") as refused:
        page.get_by_role("button", name="Sign in").click()
    assert refused.value.status == 403
    page.get_by_text("Signing in works only at the server's own address").wait_for()
    assert page.context.cookies() == []
    shot(page, "signin-wrong-address")


def test_the_page_refreshes_silently_before_the_access_token_expires(
    default_server: Server, new_page: Any
) -> None:
    username = unique("bob")
    sign_up(default_server, username)
    page = new_page(clock=True)
    tokens = _tokens_seen(page)
    sign_in(page, default_server, username)
    page.locator("tbody tr.current").wait_for()
    before = tokens[-1]  # the account page restored the session with a refresh

    # The server's clock passes the access token's expiry; the page's timer (80 % of the
    # lifetime) fires first and refreshes through the cookie.
    default_server.advance(ACCESS_TTL + 1)
    with page.expect_response("**/auth/refresh") as refreshed:
        page.clock.fast_forward(ACCESS_TTL * 1000)
    assert refreshed.value.status == 200
    after = json.loads(refreshed.value.body())["access_token"]
    assert after != before

    with page.expect_response("**/auth/sessions") as listed:
        page.get_by_role("button", name="Refresh list").click()
    assert listed.value.status == 200
    assert listed.value.request.headers["authorization"] == f"Bearer {after}"
    assert page.locator("tbody tr.current").count() == 1
    assert _storage(page) == {"local": 0, "session": 0}


def test_a_reload_keeps_the_user_signed_in(default_server: Server, new_page: Any) -> None:
    username = unique("cy")
    sign_up(default_server, username)
    page = new_page()
    sign_in(page, default_server, username)
    with page.expect_response("**/auth/refresh") as refreshed:
        page.reload()
    assert refreshed.value.status == 200
    page.locator("main strong[data-bind=username]").filter(has_text=username).wait_for()
    assert page.url == f"{default_server.url}/account"


def test_sign_out_everywhere_in_another_browser_ends_this_one_at_its_next_refresh(
    default_server: Server, new_page: Any
) -> None:
    username = unique("dee")
    sign_up(default_server, username)
    first = new_page(clock=True)
    sign_in(first, default_server, username)
    second = new_page()
    sign_in(second, default_server, username)
    assert second.locator("tbody tr").count() == 2

    second.get_by_role("button", name="Sign out everywhere").click()
    second.wait_for_url("**/signin?**")
    assert "signed out on every device" in second.locator("main").inner_text()
    assert REFRESH not in {c["name"] for c in second.context.cookies()}

    assert first.url == f"{default_server.url}/account"  # nothing happens until it refreshes
    with first.expect_response("**/auth/refresh") as refused:
        first.clock.fast_forward(ACCESS_TTL * 1000)
    assert refused.value.status == 400
    first.wait_for_url("**/signin?**")
    assert "Your session has ended" in first.locator("main").inner_text()
    shot(first, "signed-out-elsewhere")

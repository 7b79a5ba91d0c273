"""The pages people use: errors in words, the account page's actions, labels, keyboard
use and a phone-sized screen."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import expect

from integration.server_process import PASSWORD, Server

from .conftest import ACCOUNT_LIMIT, docs_shot, shot, sign_in, sign_up, unique

UNLABELLED = """() => [...document.querySelectorAll("input, textarea, select")]
    .filter((e) => e.type !== "hidden" && e.labels.length === 0 && !e.ariaLabel)
    .map((e) => e.name)"""


AGENTS = [
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
    "python-httpx/0.27.0",
    None,
]


#: "next" values after sign-in: only the last is a same-origin path to honour
NEXT_PATHS = [
    "/account",
    "//evil.example",
    "https://evil.example",
    "/\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/signin?x",
    "javascript:alert(1)",
    "/console?x=1",
]


def _error(page: Any) -> str:
    alert = page.locator("main [role=alert]:visible")
    alert.wait_for()
    return str(alert.inner_text())


def test_sign_in_errors_say_wrong_password_then_locked_out_with_the_wait(
    web_server: Server, new_page: Any
) -> None:
    username = unique("fay")
    sign_up(web_server, username)
    page = new_page()
    page.goto(f"{web_server.url}/signin")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("not the password")
    with page.expect_response("**/auth/login") as first:
        page.get_by_role("button", name="Sign in").click()
    assert first.value.status == 401
    assert _error(page) == "Wrong username or password."
    assert page.get_by_label("Password").get_attribute("aria-invalid") == "true"

    answer = first.value
    for _ in range(ACCOUNT_LIMIT + 2):
        page.get_by_label("Password").fill("still not it")
        with page.expect_response("**/auth/login") as attempt:
            page.get_by_role("button", name="Sign in").click()
        answer = attempt.value
        if answer.status == 429:
            break
    assert answer.status == 429
    wait = int(answer.headers["retry-after"])
    message = page.locator("main [role=alert]").filter(has_text="locked")
    message.wait_for()
    words = message.inner_text()
    assert re.search(r"locked for \d+ (second|minute|hour)", words), words
    if wait < 60:
        assert f"locked for {wait} second" in words
    shot(page, "signin-locked")


def test_the_account_page_revokes_a_session_and_changes_the_password(
    web_server: Server, new_page: Any
) -> None:
    username = unique("gus")
    sign_up(web_server, username)
    other = new_page()
    sign_in(other, web_server, username)
    page = new_page()
    sign_in(page, web_server, username)
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    assert page.locator("tbody tr.current").count() == 1
    assert "Headless Chrome on Linux" in rows.first.inner_text()
    assert "127.0.0.1" in rows.first.inner_text()
    docs_shot(page, "account")

    page.locator("tbody tr:not(.current)").get_by_role("button", name=re.compile("Revoke")).click()
    page.get_by_text("The session has ended.").wait_for()
    # a locator wait: the pages' CSP forbids the eval a string predicate needs when polled
    expect(page.locator("tbody tr")).to_have_count(1)
    with other.expect_response("**/auth/sessions") as refused:
        other.get_by_role("button", name="Refresh list").click()
    assert refused.value.status == 401  # its access token is denied once revoked

    form = page.locator("form[data-form=password]")
    form.get_by_label("Current password").fill("wrong current one")
    form.get_by_label("New password", exact=True).fill("a new long password")
    form.get_by_label("Repeat the new password").fill("a new long password")
    form.get_by_role("button", name="Change password").click()
    assert _error(page) == "The current password is wrong."
    form.get_by_label("Current password").fill(PASSWORD)
    form.get_by_label("New password", exact=True).fill("a new long password")
    form.get_by_label("Repeat the new password").fill("a new long password")
    form.get_by_role("button", name="Change password").click()
    page.get_by_text("Your password has been changed.").wait_for()
    with web_server.client() as client:
        login = client.post(
            "/auth/login", json={"username": username, "password": "a new long password"}
        )
    assert login.status_code == 200


def test_every_input_has_a_label_and_keyboard_alone_signs_in(
    web_server: Server, new_page: Any
) -> None:
    username = unique("hal")
    sign_up(web_server, username)
    page = new_page()
    for path in ("/signin", "/signup"):
        page.goto(f"{web_server.url}{path}")
        assert page.evaluate(UNLABELLED) == []

    page.goto(f"{web_server.url}/signin")
    docs_shot(page, "signin")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    for _ in range(12):
        if page.evaluate("document.activeElement.id") == "username":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "username"
    # the focused field shows a focus ring
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "password"
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{web_server.url}/account")
    page.locator("tbody tr").first.wait_for()
    assert page.evaluate(UNLABELLED) == []


def test_the_pages_fit_a_phone_screen(web_server: Server, new_page: Any) -> None:
    username = unique("ivy")
    sign_up(web_server, username)
    page = new_page(phone=True)
    for path in ("/signin", "/signup"):
        page.goto(f"{web_server.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), path
    sign_in(page, web_server, username)
    page.locator("tbody tr").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
    docs_shot(page, "account-phone")


def test_the_words_for_errors_times_and_devices(web_server: Server, new_page: Any) -> None:
    page = new_page()
    page.goto(f"{web_server.url}/signin")
    said = page.evaluate(
        """async ([agents, paths]) => {
            const words = await import("/static/js/words.js");
            const device = await import("/static/js/device.js");
            const page = await import("/static/js/page.js");
            const limited = (retryAfter) => ({ code: "rate_limited", retryAfter });
            return {
                wait: [words.formatWait(1), words.formatWait(125), words.formatWait(3720)],
                signin: words.describeError(limited(90), "sign-in"),
                signup: words.describeError(limited(3600), "sign-up"),
                wrong: words.describeError({ code: "invalid_credentials" }, "sign-in"),
                server: words.describeError({ status: 500, code: "server_error" }),
                devices: agents.map(device.describeAgent),
                next: paths.map(page.safeNext),
            };
        }""",
        [AGENTS, NEXT_PATHS],
    )
    assert said["wait"] == ["1 second", "2 minutes 5 seconds", "1 hour 2 minutes"]
    assert "locked for 1 minute 30 seconds" in said["signin"]
    assert "Try again in 1 hour" in said["signup"]
    assert said["wrong"] == "Wrong username or password."
    assert "server had a problem" in said["server"]
    assert said["devices"] == [
        "Firefox on Linux",
        "Safari on iOS",
        "a Python program",
        "Unknown device",
    ]
    assert said["next"] == ["/account"] * (len(NEXT_PATHS) - 1) + ["/console?x=1"]


def test_the_api_refuses_a_page_token_in_the_query(web_server: Server) -> None:
    """Tokens never travel in URLs: the API reads them only from the Authorization
    header, so a token in the query string authenticates nothing."""
    username = unique("jo")
    sign_up(web_server, username)
    with httpx.Client(base_url=web_server.url) as client:
        login = client.post("/auth/login", json={"username": username, "password": PASSWORD})
        token = login.json()["access_token"]
        answer = client.get("/auth/sessions", params={"access_token": token})
    assert answer.status_code == 401


def test_sign_up_by_invitation_needs_a_valid_invite_code(
    tmp_path: Path, browser: Any, new_page: Any
) -> None:
    server = Server(
        tmp_path / "data",
        {"TOKENSMITH_REGISTRATION": "invite"},
    )
    server.start()
    try:
        made = server.cli("users", "invite")
        assert made.returncode == 0, made.stderr
        invite = made.stdout.strip().split()[-1]
        page = new_page()
        page.goto(f"{server.url}/signup")
        shot(page, "signup-invite")
        page.get_by_label("Invite code").fill("not-an-invite")
        page.get_by_label("Username").fill("invited")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Repeat the password").fill(PASSWORD)
        page.get_by_role("button", name="Create account").click()
        assert _error(page) == "That invite code is unknown, used or expired."
        page.get_by_label("Invite code").fill(invite)
        page.get_by_role("button", name="Create account").click()
        page.wait_for_url(f"{server.url}/account")
        page.locator("main strong[data-bind=username]").filter(has_text="invited").wait_for()
    finally:
        server.stop()

"""The admin console in a real browser: the key timeline and "rotate now", users (search,
disable, reset sessions), clients (the secret shown once), the audit log's filters, and
what someone without the admin role sees."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from integration.server_process import PASSWORD, Server

from .conftest import docs_shot, shot, sign_in, sign_up, unique


@pytest.fixture(scope="module")
def admin_name(web_server: Server) -> str:
    name = unique("root")
    added = web_server.cli("users", "add", name, "--admin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    return name


def _console(page: Any, server: Server, admin: str, section: str) -> None:
    sign_in(page, server, admin)
    page.goto(f"{server.url}/console/{section}")
    page.locator("[data-bind=console]").wait_for()


def _states(page: Any) -> list[tuple[str, str]]:
    items = page.locator("ol.timeline li.key")
    return [
        (items.nth(i).get_attribute("data-state"), items.nth(i).get_attribute("data-kid"))
        for i in range(items.count())
    ]


def test_admin_rotates_a_key_and_the_timeline_shows_it(
    web_server: Server, new_page: Any, admin_name: str
) -> None:
    page = new_page()
    _console(page, web_server, admin_name, "keys")
    page.locator("ol.timeline li.key.current").wait_for()
    before = dict(_states(page))
    assert set(before) >= {"next", "current"}

    # a fresh next key is younger than one JWKS cache lifetime: the console says so
    page.get_by_role("button", name="Rotate now").click()
    page.locator("[data-bind=error]").filter(has_text="wait").wait_for()
    force = page.get_by_role("button", name="Rotate anyway")
    force.wait_for()
    force.click()
    page.locator("[data-bind=status]").filter(has_text=before["next"]).wait_for()
    page.locator(f'ol.timeline li[data-state=current][data-kid="{before["next"]}"]').wait_for()
    after = _states(page)
    assert ("previous", before["current"]) in after
    assert after[0][0] == "next"
    assert after[0][1] not in (before["next"], before["current"])
    current = page.locator("ol.timeline li.current")
    assert "Signing since" in current.inner_text()
    previous = page.locator("ol.timeline li.previous").first
    assert "Leaves the JWKS" in previous.inner_text()

    # once the next key has been published for a cache lifetime, no force is needed
    web_server.advance(3700)
    page.reload()
    page.locator("ol.timeline li.key.current").wait_for()
    newer = dict(_states(page))
    page.get_by_role("button", name="Rotate now").click()
    page.locator(f'ol.timeline li[data-state=current][data-kid="{newer["next"]}"]').wait_for()
    assert "retired" in {state for state, _ in _states(page)}
    assert page.get_by_role("button", name="Rotate anyway").is_hidden()
    docs_shot(page, "admin-keys")


def test_users_search_disable_and_reset_sessions(
    web_server: Server, new_page: Any, admin_name: str
) -> None:
    tag = unique("zed")
    victim, other = f"{tag}a", f"{tag}b"
    sign_up(web_server, victim)
    sign_up(web_server, other)
    victim_page = new_page()
    sign_in(victim_page, web_server, victim)

    page = new_page()
    _console(page, web_server, admin_name, "users")
    page.get_by_label("Name or id").fill(tag.upper())
    page.get_by_role("button", name="Search").click()
    expect(page.locator("tbody tr")).to_have_count(2)
    page.locator(f'tbody tr[data-user="{other}"]').wait_for()

    page.get_by_role("button", name=f"Sign {victim} out everywhere").click()
    page.locator("[data-bind=status]").filter(has_text="1 session ended").wait_for()
    # the victim's page loses its session at its next call
    victim_page.get_by_role("button", name="Refresh list").click()
    victim_page.wait_for_url("**/signin?**")

    page.get_by_role("button", name=f"Disable {victim}").click()
    row = page.locator(f'tbody tr[data-user="{victim}"]')
    row.locator(".badge", has_text="disabled").wait_for()
    assert page.get_by_role("button", name=f"Enable {victim}").is_visible()
    shot(page, "admin-users")

    with web_server.client() as client:
        refused = client.post("/auth/login", json={"username": victim, "password": PASSWORD})
    assert refused.json()["error"] == "account_disabled"
    page.get_by_role("button", name=f"Enable {victim}").click()
    row.locator(".badge", has_text="active").wait_for()


def test_phone_sized_console_is_usable(web_server: Server, new_page: Any, admin_name: str) -> None:
    page = new_page(phone=True)
    _console(page, web_server, admin_name, "users")
    page.locator("tbody tr").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "admin-users-phone")


def test_client_secret_is_shown_once(web_server: Server, new_page: Any, admin_name: str) -> None:
    page = new_page()
    _console(page, web_server, admin_name, "clients")
    client_id = unique("billing-")
    page.get_by_label("Client id").fill(client_id)
    page.get_by_label("Scopes").fill("read write")
    page.get_by_label("Audiences").fill("https://api.example")
    page.get_by_role("button", name="Register client").click()
    secret_box = page.get_by_label("Client secret")
    secret_box.wait_for()
    secret = secret_box.input_value()
    assert len(secret) >= 32
    page.locator(f'tbody tr[data-client="{client_id}"]').wait_for()
    shot(page, "admin-clients-secret")

    with web_server.client() as client:
        granted = client.post(
            "/oauth/token",
            data={"grant_type": "client_credentials", "scope": "read"},
            auth=(client_id, secret),
        )
    assert granted.status_code == 200, granted.text

    page.get_by_role("button", name="Done, hide it").click()
    assert page.locator("[data-bind=secret-box]").is_hidden()
    assert secret not in page.content()
    page.reload()
    page.locator(f'tbody tr[data-client="{client_id}"]').wait_for()
    assert secret not in page.content()  # never shown again

    page.get_by_role("button", name=f"Rotate the secret of {client_id}").click()
    page.get_by_label("Client secret").wait_for()
    rotated = page.get_by_label("Client secret").input_value()
    assert rotated != secret
    page.get_by_role("button", name=f"Disable {client_id}").click()
    page.locator(f'tbody tr[data-client="{client_id}"] .badge', has_text="disabled").wait_for()
    shot(page, "admin-clients")


def test_audit_log_filters(web_server: Server, new_page: Any, admin_name: str) -> None:
    target = unique("audited")
    sign_up(web_server, target)
    with web_server.client() as client:
        for _ in range(2):
            client.post("/auth/login", json={"username": target, "password": "wrong " + PASSWORD})
    page = new_page()
    _console(page, web_server, admin_name, "audit")
    page.locator("tbody tr").first.wait_for()
    page.get_by_label("Event", exact=True).fill("login_failed")
    page.get_by_label("User", exact=True).fill(target)
    page.get_by_role("button", name="Apply filters").click()
    page.locator("[data-bind=count]").filter(has_text="2 events shown").wait_for()
    kinds = page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert kinds == ["login_failed", "login_failed"]
    assert target in page.locator("tbody").inner_text()
    shot(page, "admin-audit")

    page.get_by_label("User", exact=True).fill("no-such-user-anywhere")
    page.get_by_role("button", name="Apply filters").click()
    page.locator("[data-bind=error]").filter(has_text="user").wait_for()

    page.get_by_label("User", exact=True).fill(target)
    page.get_by_label("Until (your local time)").fill("2000-01-01T00:00")
    page.get_by_role("button", name="Apply filters").click()
    page.locator("[data-bind=empty]").wait_for()
    expect(page.locator("tbody tr")).to_have_count(0)


def test_someone_without_the_admin_role_sees_a_clear_message(
    web_server: Server, new_page: Any
) -> None:
    name = unique("plain")
    sign_up(web_server, name)
    page = new_page()
    sign_in(page, web_server, name)
    page.goto(f"{web_server.url}/console/keys")
    message = page.locator("[data-bind=not-admin]")
    message.wait_for()
    assert "administrators" in message.inner_text()
    assert page.locator("[data-bind=console]").is_hidden()
    assert page.locator("ol.timeline li").count() == 0
    shot(page, "admin-not-admin")

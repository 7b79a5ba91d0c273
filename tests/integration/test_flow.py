"""The whole first-party flow against a real server process and its SQLite file (S25)."""

from __future__ import annotations

import concurrent.futures
import sqlite3
from typing import Any

import httpx

from .server_process import Server

PASSWORD = "correct horse battery"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _refresh(client: httpx.Client, token: str) -> httpx.Response:
    return client.post("/auth/refresh", json={"refresh_token": token})


def test_login_and_refresh_answer_exactly_the_documented_shape(server: Server) -> None:
    with server.client() as client:
        login = server.register_and_login(client, "shape")
        refreshed = _refresh(client, login["refresh_token"])
    expected = {"access_token", "token_type", "expires_in", "refresh_token", "refresh_expires_in"}
    assert set(login) == expected
    assert set(refreshed.json()) == expected
    assert login["token_type"] == "Bearer"
    assert login["expires_in"] == 900
    assert refreshed.headers["cache-control"] == "no-store"


def test_s25_whole_flow_rotation_grace_retry_ancestor_reuse_and_logout(server: Server) -> None:
    with server.client() as client:
        login = server.register_and_login(client, "alice")
        me = client.get("/userinfo", headers=_bearer(login["access_token"]))
        assert me.status_code == 200
        assert me.json()["preferred_username"] == "alice"

        # rotation: r0 -> r1, and r1 is new
        first = _refresh(client, login["refresh_token"])
        assert first.status_code == 200, first.text
        r1 = first.json()["refresh_token"]
        assert r1 != login["refresh_token"]

        # a retry of r0 inside the grace window returns the same child, not a new branch
        retry = _refresh(client, login["refresh_token"])
        assert retry.status_code == 200, retry.text
        assert retry.json()["refresh_token"] == r1

        # r1 -> r2; now r0 is an ancestor: reusing it revokes the whole family
        second = _refresh(client, r1)
        assert second.status_code == 200
        r2, a2 = second.json()["refresh_token"], second.json()["access_token"]
        assert client.get("/userinfo", headers=_bearer(a2)).status_code == 200
        reuse = _refresh(client, login["refresh_token"])
        assert reuse.status_code == 400
        assert reuse.json()["error"] == "invalid_grant"

        # the family is gone: r2 refuses, and every access token of the session is denied
        assert _refresh(client, r2).status_code == 400
        for access in (login["access_token"], first.json()["access_token"], a2):
            denied = client.get("/userinfo", headers=_bearer(access))
            assert denied.status_code == 401
            assert 'error="invalid_token"' in denied.headers["www-authenticate"]

        # a new session: logout ends it
        again = client.post("/auth/login", json={"username": "alice", "password": PASSWORD})
        tokens = again.json()
        out = client.post("/auth/logout", json={"refresh_token": tokens["refresh_token"]})
        assert out.status_code == 204
        assert _refresh(client, tokens["refresh_token"]).status_code == 400
        assert client.get("/userinfo", headers=_bearer(tokens["access_token"])).status_code == 401

        # two sessions: logout-all ends both
        s1 = client.post("/auth/login", json={"username": "alice", "password": PASSWORD}).json()
        s2 = client.post("/auth/login", json={"username": "alice", "password": PASSWORD}).json()
        listed = client.get("/auth/sessions", headers=_bearer(s1["access_token"]))
        assert listed.status_code == 200
        assert len(listed.json()) == 2
        assert sum(1 for s in listed.json() if s["current"]) == 1
        everything = client.post("/auth/logout-all", headers=_bearer(s1["access_token"]))
        assert everything.status_code == 200
        assert everything.json()["revoked"] == 2
        for s in (s1, s2):
            assert _refresh(client, s["refresh_token"]).status_code == 400
            assert client.get("/userinfo", headers=_bearer(s["access_token"])).status_code == 401


def test_s25_reuse_after_the_grace_window_revokes_the_family(server: Server) -> None:
    with server.client() as client:
        login = server.register_and_login(client, "bob")
        child = _refresh(client, login["refresh_token"]).json()
        server.advance(11)  # past the 10 s grace window
        reuse = _refresh(client, login["refresh_token"])
        assert reuse.status_code == 400
        assert _refresh(client, child["refresh_token"]).status_code == 400
        assert client.get("/userinfo", headers=_bearer(child["access_token"])).status_code == 401


def test_delete_session_ends_only_that_session(server: Server) -> None:
    with server.client() as client:
        keep = server.register_and_login(client, "carol")
        drop = client.post("/auth/login", json={"username": "carol", "password": PASSWORD}).json()
        sessions = client.get("/auth/sessions", headers=_bearer(keep["access_token"])).json()
        target = next(s["id"] for s in sessions if not s["current"])
        gone = client.delete(f"/auth/sessions/{target}", headers=_bearer(keep["access_token"]))
        assert gone.status_code == 204
        again = client.delete(f"/auth/sessions/{target}", headers=_bearer(keep["access_token"]))
        assert again.status_code == 404
        assert client.get("/userinfo", headers=_bearer(drop["access_token"])).status_code == 401
        assert client.get("/userinfo", headers=_bearer(keep["access_token"])).status_code == 200


def test_s25_fifty_concurrent_refreshes_of_one_token_make_one_rotation(server: Server) -> None:
    with server.client() as client:
        login = server.register_and_login(client, "dave")

    def attempt(_: int) -> httpx.Response:
        with server.client() as own:
            return _refresh(own, login["refresh_token"])

    with concurrent.futures.ThreadPoolExecutor(max_workers=50) as pool:
        responses = list(pool.map(attempt, range(50)))
    assert all(r.status_code in (200, 400) for r in responses), [r.text for r in responses]
    children = {r.json()["refresh_token"] for r in responses if r.status_code == 200}
    assert len(children) == 1, "more than one branch of the refresh-token family"
    with server.client() as client:
        onward = _refresh(client, children.pop())
        assert onward.status_code == 200
    db = sqlite3.connect(server.data_dir / "tokensmith.db")
    try:
        tables = {row[0] for row in db.execute("select name from sqlite_master")}
    finally:
        db.close()
    assert tables  # the real SQLite file under the data dir holds the state


def test_access_token_expiry_follows_the_injected_clock(server: Server) -> None:
    with server.client() as client:
        login = server.register_and_login(client, "erin")
        assert client.get("/userinfo", headers=_bearer(login["access_token"])).status_code == 200
        server.advance(901)
        expired = client.get("/userinfo", headers=_bearer(login["access_token"]))
        assert expired.status_code == 401
        assert 'error="invalid_token"' in expired.headers["www-authenticate"]
        fresh = _refresh(client, login["refresh_token"])
        assert fresh.status_code == 200
        server.advance(8 * 86400)  # past the 7-day idle lifetime
        idle = _refresh(client, fresh.json()["refresh_token"])
        assert idle.status_code == 400
        assert idle.json()["error"] == "invalid_grant"


def test_oauth_token_endpoint_rotates_first_party_refresh_tokens(server: Server) -> None:
    with server.client() as client:
        login = server.register_and_login(client, "frank")
        with_id = client.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": login["refresh_token"],
                "client_id": "first-party",
            },
        )
        assert with_id.status_code == 200, with_id.text
        body: dict[str, Any] = with_id.json()
        assert body["token_type"] == "Bearer"
        assert with_id.headers["cache-control"] == "no-store"
        without_id = client.post(
            "/oauth/token",
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        )
        assert without_id.status_code == 200
        wrong_client = client.post(
            "/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": without_id.json()["refresh_token"],
                "client_id": "someone-else",
            },
        )
        assert wrong_client.status_code == 401
        assert wrong_client.json()["error"] == "invalid_client"
        unknown = client.post(
            "/oauth/token", data={"grant_type": "refresh_token", "refresh_token": "nope"}
        )
        assert unknown.status_code == 400
        assert set(unknown.json()) == {"error", "error_description"}
        assert unknown.json()["error"] == "invalid_grant"
        grant = client.post("/oauth/token", data={"grant_type": "password"})
        assert grant.json()["error"] == "unsupported_grant_type"
        as_json = client.post("/oauth/token", json={"grant_type": "refresh_token"})
        assert (as_json.status_code, as_json.json()["error"]) == (400, "invalid_request")


def test_rfc7009_revoke_refresh_and_access_tokens(server: Server) -> None:
    with server.client() as client:
        login = server.register_and_login(client, "grace")
        revoked = client.post("/oauth/revoke", data={"token": login["access_token"]})
        assert revoked.status_code == 200
        assert client.get("/userinfo", headers=_bearer(login["access_token"])).status_code == 401
        assert _refresh(client, login["refresh_token"]).status_code == 200  # session lives on
        other = client.post("/auth/login", json={"username": "grace", "password": PASSWORD})
        tokens = other.json()
        by_refresh = client.post(
            "/oauth/revoke",
            data={"token": tokens["refresh_token"], "token_type_hint": "refresh_token"},
        )
        assert by_refresh.status_code == 200
        assert _refresh(client, tokens["refresh_token"]).status_code == 400
        assert client.get("/userinfo", headers=_bearer(tokens["access_token"])).status_code == 401
        unknown = client.post("/oauth/revoke", data={"token": "never-issued"})
        assert unknown.status_code == 200  # never reveals validity
        missing = client.post("/oauth/revoke", data={})
        assert (missing.status_code, missing.json()["error"]) == (400, "invalid_request")


def test_change_password_and_register_errors(server: Server) -> None:
    with server.client() as client:
        login = server.register_and_login(client, "heidi")
        taken = client.post("/auth/register", json={"username": "heidi", "password": PASSWORD})
        assert (taken.status_code, taken.json()["error"]) == (409, "username_taken")
        weak = client.post("/auth/register", json={"username": "ivan", "password": "short"})
        assert (weak.status_code, weak.json()["error"]) == (400, "weak_password")
        changed = client.post(
            "/auth/password",
            json={"old_password": PASSWORD, "new_password": "another long password"},
            headers=_bearer(login["access_token"]),
        )
        assert changed.status_code == 204
        old = client.post("/auth/login", json={"username": "heidi", "password": PASSWORD})
        assert (old.status_code, old.json()["error"]) == (401, "invalid_credentials")
        new = client.post(
            "/auth/login", json={"username": "heidi", "password": "another long password"}
        )
        assert new.status_code == 200


def test_s26_unknown_user_and_wrong_password_get_the_same_answer(server: Server) -> None:
    with server.client() as client:
        server.register_and_login(client, "judy")
        wrong = client.post("/auth/login", json={"username": "judy", "password": "nope nope"})
        unknown = client.post("/auth/login", json={"username": "nobody", "password": "nope nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()

"""Rate limits (S26), the revocation feed (SSE, resume by Last-Event-ID), the first-admin
setup token, operator commands against a running server, and logs without secrets (S27)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx

from .server_process import TOKENSMITH, Server

PASSWORD = "correct horse battery"
FEED_SECRET = "feed-secret-for-tests-0123456789"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_s26_failed_logins_hit_the_account_limit_with_retry_after(make_server: Any) -> None:
    server: Server = make_server(rate_account_limit="3")
    with server.client() as client:
        server.register_and_login(client, "target")
        statuses = []
        for _ in range(6):
            response = client.post("/auth/login", json={"username": "target", "password": "x" * 9})
            statuses.append(response.status_code)
        assert statuses[:3] == [401, 401, 401]
        assert 429 in statuses
        limited = client.post("/auth/login", json={"username": "target", "password": PASSWORD})
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.json()["error"] == "rate_limited"
        server.advance(3600)  # the back-off is over: the right password works again
        assert (
            client.post(
                "/auth/login", json={"username": "target", "password": PASSWORD}
            ).status_code
            == 200
        )


def _read_events(response: httpx.Response, count: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    for line in response.iter_lines():
        if line.startswith("id: "):
            current["id"] = int(line[4:])
        elif line.startswith("event: "):
            current["event"] = line[7:]
        elif line.startswith("data: "):
            current["data"] = json.loads(line[6:])
        elif line == "" and "id" in current:
            events.append(current)
            current = {}
            if len(events) == count:
                return events
    raise AssertionError(f"the feed ended after {len(events)} events")


def test_revocation_feed_streams_events_and_resumes_from_last_event_id(
    make_server: Any,
) -> None:
    server: Server = make_server(revocation_feed_secret=FEED_SECRET)
    feed = f"{server.url}/auth/revocations"
    with server.client() as client:
        assert client.get("/auth/revocations").status_code == 401
        user = server.register_and_login(client, "reader")
        forbidden = client.get("/auth/revocations", headers=_bearer(user["access_token"]))
        assert (forbidden.status_code, forbidden.json()["error"]) == (403, "forbidden")
        wrong = client.get("/auth/revocations", headers=_bearer("not-the-secret"))
        assert wrong.status_code == 401

        client.post("/auth/logout", json={"refresh_token": user["refresh_token"]})
        with httpx.stream("GET", feed, headers=_bearer(FEED_SECRET), timeout=30) as stream:
            assert stream.status_code == 200
            assert stream.headers["content-type"].startswith("text/event-stream")
            first = _read_events(stream, 1)[0]
        assert first["event"] == "revocation"
        assert first["data"]["id"] == first["id"]
        assert first["data"]["kind"] in ("sid", "jti", "sub")

        second_login = client.post(
            "/auth/login", json={"username": "reader", "password": PASSWORD}
        ).json()
        client.post("/oauth/revoke", data={"token": second_login["access_token"]})
        resume = {**_bearer(FEED_SECRET), "Last-Event-ID": str(first["id"])}
        with httpx.stream("GET", feed, headers=resume, timeout=30) as stream:
            later = _read_events(stream, 1)[0]
        assert later["id"] > first["id"]
        assert later["data"]["kind"] == "jti"
        assert later["data"]["value"] == _claims(second_login["access_token"])["jti"]


def test_live_feed_delivers_a_revocation_made_while_connected(make_server: Any) -> None:
    server: Server = make_server(revocation_feed_secret=FEED_SECRET)
    with server.client() as client:
        user = server.register_and_login(client, "live")
        with httpx.stream(
            "GET",
            f"{server.url}/auth/revocations?after=0",
            headers=_bearer(FEED_SECRET),
            timeout=30,
        ) as stream:
            client.post("/oauth/revoke", data={"token": user["access_token"]})
            event = _read_events(stream, 1)[0]
    assert event["data"]["value"] == _claims(user["access_token"])["jti"]


def _claims(token: str) -> dict[str, Any]:
    from tokensmith.jose import jwt

    return dict(jwt.peek(token).claims)


def test_first_start_prints_a_setup_token_that_creates_the_admin(make_server: Any) -> None:
    server: Server = make_server(revocation_feed_secret=FEED_SECRET)
    output = server.output()
    assert "listening on" in output
    assert str(server.data_dir.resolve()) in output
    match = re.search(r'"setup_token": "([^"]+)"', output)
    assert match, output
    with server.client() as client:
        created = client.post(
            "/auth/setup",
            json={"setup_token": match.group(1), "username": "root", "password": PASSWORD},
        )
        assert created.status_code == 201, created.text
        assert "admin" in created.json()["roles"]
        again = client.post(
            "/auth/setup",
            json={"setup_token": match.group(1), "username": "root2", "password": PASSWORD},
        )
        assert again.status_code in (403, 409)
        admin = client.post("/auth/login", json={"username": "root", "password": PASSWORD})
        token = admin.json()["access_token"]
        with httpx.stream(
            "GET", f"{server.url}/auth/revocations", headers=_bearer(token), timeout=30
        ) as stream:
            assert stream.status_code == 200
    server.restart()
    assert server.output().count('"setup_token"') == 1  # an admin exists: no new token


def test_operator_commands_work_beside_the_running_server(server: Server) -> None:
    added = server.cli("users", "add", "operator-made", "--admin", stdin=PASSWORD + "\n")
    assert added.returncode == 0, added.stderr
    with server.client() as client:
        login = client.post("/auth/login", json={"username": "operator-made", "password": PASSWORD})
        assert login.status_code == 200
        tokens = login.json()
        listing = server.cli("users", "list", "--json")
        assert any(
            json.loads(row)["username"] == "operator-made" for row in listing.stdout.splitlines()
        )
        disabled = server.cli("users", "disable", "operator-made")
        assert disabled.returncode == 0, disabled.stderr
        assert (
            client.post(
                "/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
            ).status_code
            == 400
        )
        assert client.get("/userinfo", headers=_bearer(tokens["access_token"])).status_code == 401
        refused = client.post(
            "/auth/login", json={"username": "operator-made", "password": PASSWORD}
        )
        assert refused.status_code in (401, 403)


def test_s27_no_token_or_password_in_the_server_log(server: Server) -> None:
    secret_password = "Pa55word-that-must-not-be-logged"
    with server.client() as client:
        login = server.register_and_login(client, "quiet", secret_password)
        refreshed = client.post("/auth/refresh", json={"refresh_token": login["refresh_token"]})
        client.get("/userinfo", headers=_bearer(login["access_token"]))
        client.get(f"/userinfo?access_token={login['access_token']}")
        client.post(
            "/auth/login", json={"username": "quiet", "password": "wrong-" + secret_password}
        )
        client.post("/oauth/revoke", data={"token": refreshed.json()["refresh_token"]})
    server.stop()
    log = server.output()
    assert '"event": "http"' in log  # the access log is there...
    for secret in (
        secret_password,
        login["access_token"],
        login["access_token"].split(".")[2],
        login["refresh_token"],
        refreshed.json()["refresh_token"],
        refreshed.json()["access_token"],
    ):
        assert secret not in log  # ...and holds no secret


def test_serve_on_a_busy_port_fails_without_claiming_to_listen(make_server: Any) -> None:
    import socket
    import subprocess

    server: Server = make_server(start=False)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        result = subprocess.run(
            [*TOKENSMITH, "serve", "--port", port],
            env=server.env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "address already in use" in output.lower()
    assert "listening on" not in output
    assert "setup_token" not in output


def test_s26_failures_across_many_usernames_hit_the_address_limit(make_server: Any) -> None:
    server: Server = make_server(rate_address_limit="3", rate_account_limit="100")
    with server.client() as client:
        server.register_and_login(client, "innocent")
        statuses = [
            client.post(
                "/auth/login", json={"username": f"guess{i}", "password": "wrong password"}
            ).status_code
            for i in range(5)
        ]
        assert statuses[:3] == [401, 401, 401]
        assert statuses[-1] == 429
        blocked = client.post("/auth/login", json={"username": "innocent", "password": PASSWORD})
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) >= 1


def test_operator_revoke_ends_sessions_but_keeps_the_account(server: Server) -> None:
    with server.client() as client:
        tokens = server.register_and_login(client, "revokee")
        revoked = server.cli("users", "revoke", "revokee")
        assert revoked.returncode == 0, revoked.stderr
        assert "revoked 1 session(s)" in revoked.stdout
        assert client.get("/userinfo", headers=_bearer(tokens["access_token"])).status_code == 401
        assert (
            client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
        ).status_code == 400
        again = client.post("/auth/login", json={"username": "revokee", "password": PASSWORD})
        assert again.status_code == 200
        assert (
            client.get("/userinfo", headers=_bearer(again.json()["access_token"])).status_code
            == 200
        )
        missing = server.cli("users", "revoke", "nobody")
        assert missing.returncode == 1
        assert "user_not_found" in missing.stderr


def _read_until(response: httpx.Response, name: str) -> list[tuple[str, str | None, str]]:
    """(event, id, data) of every event up to and including the first named ``name``."""
    out: list[tuple[str, str | None, str]] = []
    event, ident, data = "message", None, ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("id:"):
            ident = line[3:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()
        elif line == "":
            if data or event != "message":
                out.append((event, ident, data))
                if event == name:
                    return out
            event, ident, data = "message", None, ""
    raise AssertionError(f"the feed ended before an {name!r} event: {out}")


def test_feed_marks_the_end_of_its_backlog_and_resets_a_foreign_resume_point(
    make_server: Any,
) -> None:
    server: Server = make_server(revocation_feed_secret=FEED_SECRET)
    feed = f"{server.url}/auth/revocations"
    with server.client() as client:
        user = server.register_and_login(client, "marker")
        second = client.post("/auth/login", json={"username": "marker", "password": PASSWORD})
        client.post("/oauth/revoke", data={"token": user["access_token"]})
        client.post("/oauth/revoke", data={"token": second.json()["access_token"]})

    def session(headers: dict[str, str], until: str = "ready") -> list[tuple[str, Any, Any]]:
        with httpx.stream("GET", feed, headers={**_bearer(FEED_SECRET), **headers}) as stream:
            assert stream.status_code == 200
            return [(e, i, json.loads(d)) for e, i, d in _read_until(stream, until)]

    everything = session({})
    assert [e for e, _, _ in everything] == ["revocation", "revocation", "ready"]
    first_id, last_id = everything[0][2]["id"], everything[1][2]["id"]
    assert everything[-1][2] == {"last_id": last_id}

    resumed = session({"Last-Event-ID": str(first_id)})
    assert [(e, d.get("id")) for e, _, d in resumed[:-1]] == [("revocation", last_id)]
    assert resumed[-1] == ("ready", None, {"last_id": last_id})

    caught_up = session({"Last-Event-ID": str(last_id)})
    assert caught_up == [("ready", None, {"last_id": last_id})]

    foreign = session({"Last-Event-ID": str(10**9)})
    assert foreign[0] == ("reset", "", {})
    assert [d.get("id") for e, _, d in foreign if e == "revocation"] == [first_id, last_id]
    assert foreign[-1][0] == "ready"

"""Secrets at rest in the real SQLite file (S27), size limits through uvicorn, and the
automatic key schedule run by the server's background task."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tokensmith.jose import jwt as ts_jwt

from .server_process import PASSWORD, Server


def _database_bytes(server: Server) -> bytes:
    files = sorted(server.data_dir.glob("tokensmith.db*"))  # the db, its -wal and -shm
    assert files
    return b"".join(path.read_bytes() for path in files)


def test_s27_database_holds_no_raw_refresh_token_password_or_private_key(
    server: Server,
) -> None:
    with server.client() as client:
        login = server.register_and_login(client, "atrest", "a very findable password")
        refreshed = client.post("/auth/refresh", json={"refresh_token": login["refresh_token"]})
        assert refreshed.status_code == 200
    server.stop()  # checkpoint and close the database cleanly
    for path in server.data_dir.glob("tokensmith.db*"):
        assert path.stat().st_mode & 0o077 == 0, f"{path.name} is readable by others"
    stored = _database_bytes(server)
    assert b"atrest" in stored  # the scan does see the database's contents
    for secret in (login["refresh_token"], refreshed.json()["refresh_token"]):
        assert secret.encode() not in stored
    assert b"a very findable password" not in stored
    assert b'"d":' not in stored  # no private JWK member in the clear
    assert b'"d": ' not in stored


def test_body_and_header_limits_hold_through_uvicorn(make_server: Any) -> None:
    server: Server = make_server(max_body_bytes="2048", max_header_bytes="4096")
    with server.client() as client:
        big_body = client.post(
            "/auth/login",
            content=b"{" + b" " * 5000 + b"}",
            headers={"content-type": "application/json"},
        )
        assert (big_body.status_code, big_body.json()["error"]) == (413, "payload_too_large")
        big_headers = client.get("/healthz", headers={"x-padding": "p" * 6000})
        assert (big_headers.status_code, big_headers.json()["error"]) == (431, "headers_too_large")
        assert client.get("/healthz").status_code == 200


def test_the_server_rotates_keys_on_schedule_by_itself(make_server: Any) -> None:
    server: Server = make_server(key_rotation="2h", jwks_max_age="1h")
    with server.client() as client:
        first = server.register_and_login(client, "scheduled")
        first_kid = ts_jwt.peek(first["access_token"]).header["kid"]
        jwks = httpx.get(f"{server.url}/.well-known/jwks.json")
        assert jwks.headers["cache-control"] == "public, max-age=3600"
        published_before = {k["kid"] for k in jwks.json()["keys"]}
        server.advance(2 * 3600 + 1)  # the current key is now due
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            login = client.post("/auth/login", json={"username": "scheduled", "password": PASSWORD})
            kid = ts_jwt.peek(login.json()["access_token"]).header["kid"]
            if kid != first_kid:
                break
            time.sleep(0.1)  # waits for the 1 s maintenance tick, not for an expiry
        else:
            raise AssertionError("no automatic rotation")
        assert kid in published_before  # it was published before it signed
        after = {k["kid"] for k in httpx.get(f"{server.url}/.well-known/jwks.json").json()["keys"]}
        assert first_kid in after  # the previous key stays until its tokens expire
        assert len(after - published_before) == 1  # and a new next key is out already

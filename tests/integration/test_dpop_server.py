"""DPoP at a real ``tokensmith serve`` (RFC 9449, issue 9): bound login, refresh and
/userinfo over HTTP on the embedded SQLite default (a replayed proof stays refused after
a restart), the ``tokensmith clients add --dpop`` modes, and two processes sharing
PostgreSQL (a proof used on one is a replay on the other; both issue and accept the
same server nonces with no shared nonce state; a binding made on one holds on the
other)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from services import postgres_database
from tokensmith.jose import JWK, jwt
from tokensmith.jose.dpop import make_proof

from .server_process import PASSWORD, Server, start_pair
from .test_clients import add_client, basic, token_request

CREDENTIALS = {"username": "alice", "password": PASSWORD}


def proof(server: Server, key: JWK, path: str, method: str = "POST", **extra: Any) -> str:
    """A proof for ``path`` at the server's issuer URL, at the server's clock."""
    url = server.env["TOKENSMITH_ISSUER"] + path
    return make_proof(key, htm=method, htu=url, iat=int(server.now()), **extra)


def bound_login(server: Server, client: httpx.Client, key: JWK, **extra: Any) -> dict[str, Any]:
    response = client.post(
        "/auth/login",
        json=CREDENTIALS,
        headers={"DPoP": proof(server, key, "/auth/login", **extra)},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    assert body["token_type"] == "DPoP"
    assert jwt.peek(body["access_token"]).claims["cnf"] == {"jkt": key.thumbprint()}
    return body


def userinfo(server: Server, client: httpx.Client, key: JWK, token: str) -> httpx.Response:
    return client.get(
        "/userinfo",
        headers={
            "Authorization": f"DPoP {token}",
            "DPoP": proof(server, key, "/userinfo", "GET", access_token=token),
        },
    )


def test_dpop_login_refresh_userinfo_and_replay_after_restart(server: Server) -> None:
    key, other = JWK.generate("ES256"), JWK.generate("EdDSA")
    with server.client() as client:
        server.register_and_login(client, "alice")
        used = proof(server, key, "/auth/login")
        first = client.post("/auth/login", json=CREDENTIALS, headers={"DPoP": used})
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["token_type"] == "DPoP"
        assert userinfo(server, client, key, body["access_token"]).status_code == 200
        as_bearer = client.get(
            "/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}
        )
        assert as_bearer.status_code == 401
        assert as_bearer.headers["www-authenticate"].startswith("DPoP ")
        # the refresh token is bound: no proof, another key: refused; the key: rotated
        refresh = {"refresh_token": body["refresh_token"]}
        missing = client.post("/auth/refresh", json=refresh)
        assert missing.json()["error"] == "invalid_dpop_proof"
        stranger = client.post(
            "/auth/refresh", json=refresh, headers={"DPoP": proof(server, other, "/auth/refresh")}
        )
        assert (stranger.status_code, stranger.json()["error"]) == (400, "invalid_grant")
        owner = client.post(
            "/auth/refresh", json=refresh, headers={"DPoP": proof(server, key, "/auth/refresh")}
        )
        assert owner.status_code == 200, owner.text
        assert owner.json()["token_type"] == "DPoP"
    server.restart()
    with server.client() as client:
        # the proof's jti is in the database, not in the process: still a replay
        replay = client.post("/auth/login", json=CREDENTIALS, headers={"DPoP": used})
        assert replay.status_code == 400
        assert replay.json()["error"] == "invalid_dpop_proof"
        assert "replay" in replay.json()["message"]
        # and the bound session survived the restart
        renewed = owner.json()
        again = client.post(
            "/auth/refresh",
            json={"refresh_token": renewed["refresh_token"]},
            headers={"DPoP": proof(server, key, "/auth/refresh")},
        )
        assert again.status_code == 200, again.text
        assert again.json()["token_type"] == "DPoP"


def test_cli_clients_add_dpop_modes(server: Server) -> None:
    required = add_client(server, "svc-req", "--audience", "api", "--dpop", "required")
    assert required["dpop"] == "required"
    off = add_client(server, "svc-off", "--audience", "api", "--dpop", "off")
    assert off["dpop"] == "off"
    default = add_client(server, "svc-opt", "--audience", "api")
    assert default["dpop"] == "optional"
    assert server.cli("clients", "add", "svc-x", "--dpop", "sometimes").returncode == 2
    lines = server.cli("clients", "list", "--json").stdout.splitlines()
    listed = [json.loads(line) for line in lines]
    assert {c["client_id"]: c["dpop"] for c in listed} == {
        "svc-req": "required",
        "svc-off": "off",
        "svc-opt": "optional",
    }
    table = server.cli("clients", "list").stdout
    assert "DPOP" in table
    assert "required" in table
    key = JWK.generate("ES256")
    grant = {"grant_type": "client_credentials"}
    with server.client() as client:
        refused = token_request(client, grant, basic("svc-req", required["client_secret"]))
        assert (refused.status_code, refused.json()["error"]) == (400, "invalid_dpop_proof")
        bound = token_request(
            client,
            grant,
            {
                **basic("svc-req", required["client_secret"]),
                "DPoP": proof(server, key, "/oauth/token"),
            },
        )
        assert bound.status_code == 200, bound.text
        assert bound.json()["token_type"] == "DPoP"
        ignored = token_request(
            client,
            grant,
            {**basic("svc-off", off["client_secret"]), "DPoP": proof(server, key, "/oauth/token")},
        )
        assert ignored.status_code == 200
        assert ignored.json()["token_type"] == "Bearer"
        assert "cnf" not in jwt.peek(ignored.json()["access_token"]).claims


@pytest.fixture
def pg_pair(make_server: Any) -> Iterator[tuple[Server, Server]]:
    with postgres_database("tokensmith_dpop") as url:
        first, second = start_pair(
            make_server, database_url=url, master_key="D" * 43, dpop_nonce="true"
        )
        yield first, second
        second.stop()
        first.stop()


@pytest.mark.services
def test_dpop_across_two_processes_on_postgres(pg_pair: tuple[Server, Server]) -> None:
    a, b = pg_pair
    key, other = JWK.generate("ES256"), JWK.generate("ES256")
    with a.client() as on_a, b.client() as on_b:
        a.register_and_login(on_a, "alice")
        challenge = on_a.post(
            "/auth/login", json=CREDENTIALS, headers={"DPoP": proof(a, key, "/auth/login")}
        )
        assert (challenge.status_code, challenge.json()["error"]) == (400, "use_dpop_nonce")
        nonce = challenge.headers["DPoP-Nonce"]
        # B hands out and accepts the same nonce: it is derived, not stored
        used = proof(a, key, "/auth/login", nonce=nonce)
        login = on_b.post("/auth/login", json=CREDENTIALS, headers={"DPoP": used})
        assert login.status_code == 200, login.text
        assert login.headers["DPoP-Nonce"] == nonce
        body = login.json()
        assert body["token_type"] == "DPoP"
        # the same proof at A: a replay, seen through the shared database
        replay = on_a.post("/auth/login", json=CREDENTIALS, headers={"DPoP": used})
        assert replay.json()["error"] == "invalid_dpop_proof"
        # the binding made on B holds on A
        form = {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]}
        stranger = token_request(on_a, form, {"DPoP": proof(a, other, "/oauth/token", nonce=nonce)})
        assert stranger.json()["error"] == "invalid_grant"
        owner = token_request(on_a, form, {"DPoP": proof(a, key, "/oauth/token", nonce=nonce)})
        assert owner.status_code == 200, owner.text
        token = owner.json()["access_token"]
        assert owner.json()["token_type"] == "DPoP"
        seen = on_b.get(
            "/userinfo",
            headers={
                "Authorization": f"DPoP {token}",
                "DPoP": proof(a, key, "/userinfo", "GET", access_token=token, nonce=nonce),
            },
        )
        assert seen.status_code == 200, seen.text
        # logout-all on A (bound token, DPoP scheme): B refuses the token at once
        ended = on_a.post(
            "/auth/logout-all",
            headers={
                "Authorization": f"DPoP {token}",
                "DPoP": proof(a, key, "/auth/logout-all", access_token=token, nonce=nonce),
            },
        )
        assert ended.status_code == 200, ended.text
        after = on_b.get(
            "/userinfo",
            headers={
                "Authorization": f"DPoP {token}",
                "DPoP": proof(a, key, "/userinfo", "GET", access_token=token, nonce=nonce),
            },
        )
        assert after.status_code == 401
        assert after.json()["error"] == "invalid_token"

"""Per-client signing algorithms over real HTTP against a real ``tokensmith serve``
(issue 6): a client with ``--signing-alg EdDSA`` gets EdDSA tokens that PyJWT and
jwcrypto verify against the published JWKS, while the other clients' and the users'
tokens stay ES256; each algorithm rotates on its own; a restart keeps every key; an
algorithm outside TOKENSMITH_SIGNING_ALGS is refused at create time (CLI and admin API).
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import jwt as pyjwt
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jwt as jwcrypto_jwt

from tokensmith.jose import jwt

from .server_process import PASSWORD, Server
from .test_clients import add_client, verified


def _token(client: httpx.Client, name: str, secret: str, *, basic: bool = False) -> str:
    """A client_credentials token (client_secret_basic or _post)."""
    data = {"grant_type": "client_credentials"}
    if basic:
        answer = client.post("/oauth/token", data=data, auth=(name, secret))
    else:
        answer = client.post(
            "/oauth/token", data={**data, "client_id": name, "client_secret": secret}
        )
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


def _keys(server: Server) -> list[dict[str, Any]]:
    listing = server.cli("keys", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    return [json.loads(line) for line in listing.stdout.splitlines()]


def _lane(server: Server, alg: str, state: str) -> str:
    found = [k["kid"] for k in _keys(server) if k["alg"] == alg and k["state"] == state]
    assert len(found) == 1, found
    return str(found[0])


def test_an_eddsa_client_gets_eddsa_tokens_others_stay_es256(make_server: Any) -> None:
    server: Server = make_server(signing_algs="EdDSA,RS256")
    edge = add_client(
        server,
        "edge",
        "--signing-alg",
        "EdDSA",
        "--auth",
        "client_secret_post",
        "--audience",
        "edge-api",
    )
    assert edge["signing_alg"] == "EdDSA"
    plain = add_client(server, "plain", "--auth", "client_secret_post", "--audience", "plain-api")
    assert plain["signing_alg"] is None
    with server.client() as client:
        edge_token = _token(client, "edge", edge["client_secret"])
        plain_token = _token(client, "plain", plain["client_secret"])
        user = server.register_and_login(client, "alice")
        document = client.get("/.well-known/jwks.json").json()
        meta = client.get("/.well-known/oauth-authorization-server").json()
    assert jwt.peek(edge_token).header["alg"] == "EdDSA"
    assert jwt.peek(edge_token).header["kid"] == _lane(server, "EdDSA", "current")
    assert jwt.peek(plain_token).header["alg"] == "ES256"
    assert jwt.peek(user["access_token"]).header["alg"] == "ES256"
    assert meta["access_token_signing_alg_values_supported"] == ["ES256", "EdDSA", "RS256"]
    published = {k["kid"]: k for k in document["keys"]}
    # every in-use algorithm's next and current keys are published; RS256 has no client
    assert sorted(k["alg"] for k in document["keys"]) == ["ES256", "ES256", "EdDSA", "EdDSA"]
    claims = pyjwt.decode(
        edge_token,
        pyjwt.PyJWK(published[jwt.peek(edge_token).header["kid"]]).key,
        algorithms=["EdDSA"],
        audience="edge-api",
        issuer=server.url,
    )
    assert claims["sub"] == "edge"
    keyset = jwcrypto_jwk.JWKSet.from_json(json.dumps(document))
    for token, alg, aud in ((edge_token, "EdDSA", "edge-api"), (plain_token, "ES256", "plain-api")):
        checked = jwcrypto_jwt.JWT(
            jwt=token, key=keyset, algs=[alg], expected_type="JWS", check_claims={"aud": aud}
        )
        assert json.loads(checked.claims)["aud"] == aud
    assert verified(server, edge_token, "edge-api")["client_id"] == "edge"


def test_an_algorithm_outside_the_allowed_set_is_refused(make_server: Any) -> None:
    server: Server = make_server(signing_algs="EdDSA")
    refused = server.cli("clients", "add", "svc", "--signing-alg", "PS256", "--audience", "a")
    assert refused.returncode == 1
    assert "invalid_client_metadata" in refused.stderr
    assert "ES256, EdDSA" in refused.stderr
    assert "TOKENSMITH_SIGNING_ALGS" in refused.stderr
    hmac = server.cli("clients", "add", "svc", "--signing-alg", "HS256", "--audience", "a")
    assert hmac.returncode == 1
    assert "invalid_client_metadata" in hmac.stderr
    with server.client() as client:
        made = server.cli("users", "add", "root", "--admin", stdin=PASSWORD + "\n")
        assert made.returncode == 0, made.stderr
        login = client.post("/auth/login", json={"username": "root", "password": PASSWORD})
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        body: dict[str, Any] = {"name": "svc-rs", "audiences": ["a"], "signing_alg": "RS256"}
        bad = client.post("/admin/clients", json=body, headers=admin)
        assert bad.status_code == 400
        assert bad.json()["error"] == "invalid_client_metadata"
        assert "RS256" in bad.json()["message"]
        body = {"name": "svc-ed", "audiences": ["a"], "signing_alg": "EdDSA"}
        created = client.post("/admin/clients", json=body, headers=admin)
        assert created.status_code == 201, created.text
        assert created.json()["signing_alg"] == "EdDSA"
        listed = {c["client_id"]: c for c in client.get("/admin/clients", headers=admin).json()}
        assert listed["svc-ed"]["signing_alg"] == "EdDSA"
        # the server that created it signs with it at once
        token = _token(client, "svc-ed", created.json()["client_secret"], basic=True)
        assert jwt.peek(token).header["alg"] == "EdDSA"
    assert server.cli("clients", "list").returncode == 0
    assert {c["client_id"] for c in _clients(server)} == {"svc-ed"}


def _clients(server: Server) -> list[dict[str, Any]]:
    listing = server.cli("clients", "list", "--json")
    assert listing.returncode == 0, listing.stderr
    return [json.loads(line) for line in listing.stdout.splitlines()]


def test_each_algorithm_rotates_on_its_own_and_a_restart_keeps_every_key(
    make_server: Any,
) -> None:
    server: Server = make_server(signing_algs="EdDSA")
    edge = add_client(
        server, "edge", "--signing-alg", "EdDSA", "--auth", "client_secret_post", "--audience", "x"
    )
    es_current = _lane(server, "ES256", "current")
    ed_current, ed_next = _lane(server, "EdDSA", "current"), _lane(server, "EdDSA", "next")
    with server.client() as client:
        before = _token(client, "edge", edge["client_secret"])
        assert jwt.peek(before).header["kid"] == ed_current
        too_soon = server.cli("keys", "rotate", "--alg", "EdDSA")
        assert too_soon.returncode == 1
        assert "key_state" in too_soon.stderr
        rotated = server.cli("keys", "rotate", "--alg", "EdDSA", "--force")
        assert rotated.returncode == 0, rotated.stderr
        assert rotated.stdout.strip() == f"current key is now {ed_next} (EdDSA)"
        assert _lane(server, "ES256", "current") == es_current
        states = {k["kid"]: (k["alg"], k["state"]) for k in _keys(server)}
        assert states[ed_current] == ("EdDSA", "previous")
        server.advance(2)  # the server reloads keys on its next maintenance (every second)
        after = _wait_for_kid(client, "edge", edge["client_secret"], ed_next)
        published = {k["kid"] for k in client.get("/.well-known/jwks.json").json()["keys"]}
        assert {ed_current, ed_next, es_current} <= published
        assert verified(server, before, "x")["sub"] == "edge"
        retired = server.cli("keys", "retire", "--", ed_current)
        assert retired.returncode == 0, retired.stderr
        assert retired.stdout.strip() == f"retired {ed_current} (EdDSA)"
    server.restart()
    assert _lane(server, "EdDSA", "current") == ed_next
    assert _lane(server, "ES256", "current") == es_current
    with server.client() as client:
        again = _token(client, "edge", edge["client_secret"])
        assert jwt.peek(again).header["kid"] == ed_next
    # tokens from before the restart verify against the restarted server's JWKS
    assert verified(server, before, "x")["sub"] == "edge"
    assert verified(server, after, "x")["sub"] == "edge"


def _wait_for_kid(client: httpx.Client, name: str, secret: str, kid: str) -> str:
    """A token signed by ``kid``: the server reloads keys within its maintenance interval
    (one second here); bounded polling on the real server, not a timed assertion."""
    import time

    deadline = time.monotonic() + 30
    while True:
        token = _token(client, name, secret)
        if jwt.peek(token).header["kid"] == kid or time.monotonic() > deadline:
            assert jwt.peek(token).header["kid"] == kid
            return token
        time.sleep(0.2)

"""Issue 6 over real HTTP against a real ``tokensmith serve``: OAuth clients, client
authentication (client_secret_basic, client_secret_post, private_key_jwt), the
client_credentials grant, token exchange (RFC 8693), introspection (RFC 7662), the admin
API and discovery. Clients are created with the ``tokensmith clients`` CLI against the
running server's database. Time moves by the test clock file, never by sleeping."""

from __future__ import annotations

import base64
import http.server
import json
import secrets
import threading
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tokensmith.jose import JWK, ClaimsPolicy, JWKSet, jwt

from .server_process import PASSWORD, Server

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def add_client(server: Server, name: str, *args: str) -> dict[str, Any]:
    done = server.cli("clients", "add", name, *args)
    assert done.returncode == 0, done.stderr
    created: dict[str, Any] = json.loads(done.stdout)
    assert created["client_id"] == name
    return created


def basic(client_id: str, secret: str) -> dict[str, str]:
    raw = f"{urllib.parse.quote_plus(client_id)}:{urllib.parse.quote_plus(secret)}"
    return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}


def verified(server: Server, token: str, audience: str) -> dict[str, Any]:
    """Verify like a resource server: the published JWKS, iss, aud, typ at+jwt."""
    keys = JWKSet.from_dict(httpx.get(f"{server.url}/.well-known/jwks.json").json())
    policy = ClaimsPolicy(
        issuer=server.url, audience=audience, typ="at+jwt", now=server.now, required=("exp",)
    )
    return dict(jwt.decode(token, keys, policy=policy).claims)


def token_request(
    client: httpx.Client, data: dict[str, str], headers: dict[str, str] | None = None
) -> httpx.Response:
    return client.post("/oauth/token", data=data, headers=headers or {})


def assertion(server: Server, key: JWK, client_id: str, **overrides: Any) -> str:
    now = int(server.now())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": f"{server.url}/oauth/token",
        "iat": now,
        "exp": now + 60,
        "jti": secrets.token_urlsafe(12),
    }
    claims.update(overrides)
    return jwt.encode(claims, key, alg=key.alg or "ES256", header={"kid": key.kid})


# ---- client_credentials and client authentication --------------------------------------


def test_client_secret_basic_and_post_get_audience_and_scope_narrowed_tokens(
    server: Server,
) -> None:
    a = add_client(
        server,
        "svc-a",
        "--audience",
        "svc-b",
        "--audience",
        "svc-c",
        "--scope",
        "b:read",
        "--scope",
        "b:write",
    )
    p = add_client(server, "svc-p", "--auth", "client_secret_post", "--audience", "svc-b")
    assert "client_secret" in a
    assert "client_secret" in p
    with server.client() as client:
        wide = token_request(
            client,
            {"grant_type": "client_credentials", "audience": "svc-b"},
            basic("svc-a", a["client_secret"]),
        )
        assert wide.status_code == 200, wide.text
        assert wide.headers["cache-control"] == "no-store"
        body = wide.json()
        assert body["token_type"] == "Bearer"
        assert body["scope"] == "b:read b:write"
        claims = verified(server, body["access_token"], "svc-b")
        assert claims["sub"] == "svc-a"
        assert claims["client_id"] == "svc-a"
        assert claims["aud"] == "svc-b"
        assert claims["exp"] - claims["iat"] == body["expires_in"] == 900
        assert "sid" not in claims
        # RFC 8707 resource, and scope narrowed to one of the allowed ones
        narrow = token_request(
            client,
            {"grant_type": "client_credentials", "resource": "svc-c", "scope": "b:read"},
            basic("svc-a", a["client_secret"]),
        )
        assert narrow.status_code == 200, narrow.text
        claims = verified(server, narrow.json()["access_token"], "svc-c")
        assert claims["scope"] == "b:read"
        assert claims["aud"] == "svc-c"
        # client_secret_post; its only audience is the default
        posted = token_request(
            client,
            {
                "grant_type": "client_credentials",
                "client_id": "svc-p",
                "client_secret": p["client_secret"],
            },
        )
        assert posted.status_code == 200, posted.text
        assert verified(server, posted.json()["access_token"], "svc-b")["sub"] == "svc-p"


def test_wrong_secret_wrong_method_and_unknown_client_are_invalid_client_401(
    server: Server,
) -> None:
    a = add_client(server, "svc-a", "--audience", "svc-b")
    cases = [
        ({"grant_type": "client_credentials"}, basic("svc-a", "wrong")),
        ({"grant_type": "client_credentials"}, basic("nobody", a["client_secret"])),
        # a client_secret_basic client may not send its secret in the body
        (
            {
                "grant_type": "client_credentials",
                "client_id": "svc-a",
                "client_secret": a["client_secret"],
            },
            {},
        ),
        ({"grant_type": "client_credentials", "client_id": "svc-a"}, {}),
        ({"grant_type": "client_credentials"}, {"Authorization": "Basic !!!"}),
    ]
    with server.client() as client:
        for data, headers in cases:
            refused = token_request(client, data, headers)
            assert refused.status_code == 401, (data, refused.text)
            assert refused.json()["error"] == "invalid_client"
            assert refused.headers["www-authenticate"].startswith("Basic")
        # two methods at once
        both = token_request(
            client,
            {"grant_type": "client_credentials", "client_secret": a["client_secret"]},
            basic("svc-a", a["client_secret"]),
        )
        assert both.status_code == 400
        assert both.json()["error"] == "invalid_request"
    assert a["client_secret"] not in server.output()


def test_disallowed_audience_scope_and_grant_are_refused(server: Server) -> None:
    a = add_client(
        server, "svc-a", "--audience", "svc-b", "--audience", "svc-c", "--scope", "b:read"
    )
    auth = basic("svc-a", a["client_secret"])
    with server.client() as client:

        def error(data: dict[str, str]) -> tuple[int, str]:
            answer = token_request(client, data, auth)
            return answer.status_code, answer.json()["error"]

        cc = "client_credentials"
        assert error({"grant_type": cc, "audience": "svc-x"}) == (400, "invalid_target")
        assert error({"grant_type": cc, "resource": "svc-x"}) == (400, "invalid_target")
        # two allowed audiences: the client must say which
        assert error({"grant_type": cc}) == (400, "invalid_target")
        assert error({"grant_type": cc, "audience": "svc-b", "scope": "admin"}) == (
            400,
            "invalid_scope",
        )
        assert error(
            {
                "grant_type": EXCHANGE,
                "subject_token": "x",
                "subject_token_type": ACCESS,
                "audience": "svc-b",
            }
        ) == (400, "unauthorized_client")
        assert error({"grant_type": "password"}) == (400, "unsupported_grant_type")


def test_private_key_jwt_inline_keys_and_replay_refused(server: Server, tmp_path: Path) -> None:
    key = JWK.generate("ES256", kid="k1")
    jwks_file = tmp_path / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [key.public().to_dict()]}))
    created = add_client(
        server,
        "svc-k",
        "--auth",
        "private_key_jwt",
        "--jwks",
        str(jwks_file),
        "--audience",
        "svc-b",
    )
    assert "client_secret" not in created
    with server.client() as client:

        def attempt(signed: str) -> httpx.Response:
            return token_request(
                client,
                {
                    "grant_type": "client_credentials",
                    "client_assertion_type": ASSERTION_TYPE,
                    "client_assertion": signed,
                },
            )

        first = assertion(server, key, "svc-k")
        ok = attempt(first)
        assert ok.status_code == 200, ok.text
        assert verified(server, ok.json()["access_token"], "svc-b")["sub"] == "svc-k"
        replay = attempt(first)
        assert replay.status_code == 401
        assert "replay" in replay.json()["error_description"]
        # audience = the issuer is accepted too
        assert attempt(assertion(server, key, "svc-k", aud=server.url)).status_code == 200
        other = JWK.generate("ES256", kid="k1")
        hs = JWK.from_secret(secrets.token_bytes(32), kid="k1")
        for bad in (
            assertion(server, key, "svc-k", aud="https://elsewhere.example/token"),
            assertion(server, key, "svc-k", exp=int(server.now()) - 120),
            assertion(server, key, "svc-k", exp=int(server.now()) + 7200),
            assertion(server, key, "svc-k", sub="svc-other"),
            assertion(server, other, "svc-k"),
            jwt.encode(
                {
                    "iss": "svc-k",
                    "sub": "svc-k",
                    "aud": server.url,
                    "exp": int(server.now()) + 60,
                    "jti": "h",
                },
                hs,
                alg="HS256",
                header={"kid": "k1"},
            ),
            "not.a.jwt",
        ):
            refused = attempt(bad)
            assert refused.status_code == 401, refused.text
            assert refused.json()["error"] == "invalid_client"


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback HTTP server publishing a JWK Set (the client's jwks_uri)."""
    published: list[dict[str, Any]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps({"keys": published}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/jwks.json", published
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_private_key_jwt_keys_fetched_from_jwks_uri(
    server: Server, jwks_server: tuple[str, list[dict[str, Any]]]
) -> None:
    url, published = jwks_server
    key = JWK.generate("RS256", kid="r1")
    published.append(key.public().to_dict())
    add_client(server, "svc-u", "--auth", "private_key_jwt", "--jwks-uri", url, "--audience", "b")
    # S4: a jwks_uri that is plain http to a non-loopback host is refused at registration
    refused = server.cli(
        "clients",
        "add",
        "svc-v",
        "--auth",
        "private_key_jwt",
        "--jwks-uri",
        "http://keys.example/jwks.json",
    )
    assert refused.returncode == 1
    assert "invalid_client_metadata" in refused.stderr
    with server.client() as client:
        answer = token_request(
            client,
            {
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion(server, key, "svc-u"),
            },
        )
    assert answer.status_code == 200, answer.text
    assert verified(server, answer.json()["access_token"], "b")["client_id"] == "svc-u"


# ---- token exchange ----------------------------------------------------------------------


def exchange(
    client: httpx.Client,
    auth: dict[str, str],
    subject: str,
    audience: str,
    **extra: str,
) -> httpx.Response:
    data = {
        "grant_type": EXCHANGE,
        "subject_token": subject,
        "subject_token_type": ACCESS,
        "audience": audience,
        **extra,
    }
    return token_request(client, data, auth)


def test_token_exchange_chain_a_b_c_with_nested_act(server: Server) -> None:
    a = add_client(
        server, "svc-a", "--grant", "token-exchange", "--audience", "svc-b", "--scope", "b:call"
    )
    b = add_client(
        server, "svc-b", "--grant", "token-exchange", "--audience", "svc-c", "--scope", "c:call"
    )
    c = add_client(server, "svc-c", "--grant", "token-exchange", "--audience", "svc-d")
    with server.client() as client:
        user = server.register_and_login(client, "alice")
        me = client.get("/userinfo", headers={"Authorization": f"Bearer {user['access_token']}"})
        user_id = me.json()["sub"]
        # A received the user's first-party token and calls B
        to_b = exchange(client, basic("svc-a", a["client_secret"]), user["access_token"], "svc-b")
        assert to_b.status_code == 200, to_b.text
        assert to_b.json()["issued_token_type"] == ACCESS
        claims_b = verified(server, to_b.json()["access_token"], "svc-b")
        assert claims_b["sub"] == user_id
        assert claims_b["act"] == {"sub": "svc-a"}
        assert claims_b["client_id"] == "svc-a"
        assert claims_b["scope"] == "b:call"
        user_claims = jwt.peek(user["access_token"]).claims
        assert claims_b["sid"] == user_claims["sid"]
        assert claims_b["exp"] <= user_claims["exp"]
        # B calls C with what it received
        to_c = exchange(
            client, basic("svc-b", b["client_secret"]), to_b.json()["access_token"], "svc-c"
        )
        assert to_c.status_code == 200, to_c.text
        claims_c = verified(server, to_c.json()["access_token"], "svc-c")
        assert claims_c["sub"] == user_id
        assert claims_c["act"] == {"sub": "svc-b", "act": {"sub": "svc-a"}}
        assert claims_c["scope"] == "c:call"
        # A may not call C directly
        skip = exchange(client, basic("svc-a", a["client_secret"]), user["access_token"], "svc-c")
        assert skip.status_code == 400
        assert skip.json()["error"] == "invalid_target"
        # C may not use a token addressed to B
        stolen = exchange(
            client, basic("svc-c", c["client_secret"]), to_b.json()["access_token"], "svc-d"
        )
        assert stolen.status_code == 400
        assert stolen.json()["error"] == "invalid_grant"
        # B may not widen its scope for C
        wide = exchange(
            client,
            basic("svc-b", b["client_secret"]),
            to_b.json()["access_token"],
            "svc-c",
            scope="c:call c:admin",
        )
        assert wide.json()["error"] == "invalid_scope"
        # a garbage subject token
        junk = exchange(client, basic("svc-a", a["client_secret"]), "x.y.z", "svc-b")
        assert junk.status_code == 400
        assert junk.json()["error"] == "invalid_grant"


def test_token_exchange_with_actor_token(server: Server) -> None:
    a = add_client(
        server,
        "svc-a",
        "--grant",
        "token-exchange",
        "--grant",
        "client_credentials",
        "--audience",
        "svc-b",
    )
    with server.client() as client:
        user = server.register_and_login(client, "bob")
        auth = basic("svc-a", a["client_secret"])
        actor = token_request(client, {"grant_type": "client_credentials"}, auth).json()
        done = exchange(
            client,
            auth,
            user["access_token"],
            "svc-b",
            actor_token=actor["access_token"],
            actor_token_type=ACCESS,
        )
        assert done.status_code == 200, done.text
        assert verified(server, done.json()["access_token"], "svc-b")["act"] == {"sub": "svc-a"}
        half = exchange(client, auth, user["access_token"], "svc-b", actor_token="x")
        assert half.json()["error"] == "invalid_request"


# ---- introspection -----------------------------------------------------------------------


def test_introspection_active_expired_and_revoked(server: Server) -> None:
    a = add_client(
        server,
        "svc-a",
        "--grant",
        "token-exchange",
        "--grant",
        "client_credentials",
        "--audience",
        "svc-b",
    )
    i = add_client(server, "svc-i", "--auth", "client_secret_post", "--audience", "x")
    auth = {"client_id": "svc-i", "client_secret": i["client_secret"]}
    with server.client() as client:

        def introspect(token: str) -> dict[str, Any]:
            answer = client.post("/oauth/introspect", data={"token": token, **auth})
            assert answer.status_code == 200, answer.text
            assert answer.headers["cache-control"] == "no-store"
            body: dict[str, Any] = answer.json()
            return body

        user = server.register_and_login(client, "carol")
        own = token_request(
            client, {"grant_type": "client_credentials"}, basic("svc-a", a["client_secret"])
        ).json()
        derived = exchange(
            client, basic("svc-a", a["client_secret"]), user["access_token"], "svc-b"
        ).json()
        active = introspect(own["access_token"])
        assert active["active"] is True
        assert active["client_id"] == "svc-a"
        assert active["aud"] == "svc-b"
        assert introspect(derived["access_token"])["act"] == {"sub": "svc-a"}
        assert introspect(user["access_token"])["active"] is True
        refresh = introspect(user["refresh_token"])
        assert refresh["active"] is True
        assert refresh["token_type"] == "refresh_token"
        assert introspect("garbage") == {"active": False}
        # unauthenticated or public callers are refused
        anon = client.post("/oauth/introspect", data={"token": own["access_token"]})
        assert anon.status_code == 401
        assert anon.json()["error"] == "invalid_client"
        # revoked: the user's session ends -> its token and every token derived from it
        out = client.post("/auth/logout", json={"refresh_token": user["refresh_token"]})
        assert out.status_code == 204
        assert introspect(user["access_token"]) == {"active": False}
        assert introspect(derived["access_token"]) == {"active": False}
        assert introspect(user["refresh_token"]) == {"active": False}
        bearer = {"Authorization": f"Bearer {user['access_token']}"}
        assert client.get("/userinfo", headers=bearer).status_code == 401
        # the client's own token is untouched by the user's logout ...
        assert introspect(own["access_token"])["active"] is True
        # ... and expires with the clock
        server.advance(901)
        assert introspect(own["access_token"]) == {"active": False}


# ---- admin API ----------------------------------------------------------------------------


def admin_token(server: Server, client: httpx.Client) -> str:
    made = server.cli("users", "add", "root", "--admin", stdin=PASSWORD + "\n")
    assert made.returncode == 0, made.stderr
    login = client.post("/auth/login", json={"username": "root", "password": PASSWORD})
    token: str = login.json()["access_token"]
    return token


def test_admin_api_creates_lists_rotates_and_disables(server: Server) -> None:
    with server.client() as client:
        admin = {"Authorization": f"Bearer {admin_token(server, client)}"}
        user = server.register_and_login(client, "dave")
        plain = {"Authorization": f"Bearer {user['access_token']}"}
        body = {"name": "svc-z", "audiences": ["svc-y"], "scopes": ["y:read"]}
        assert client.post("/admin/clients", json=body, headers=plain).status_code == 403
        assert client.post("/admin/clients", json=body).status_code == 401
        created = client.post("/admin/clients", json=body, headers=admin)
        assert created.status_code == 201, created.text
        secret = created.json()["client_secret"]
        again = client.post("/admin/clients", json=body, headers=admin)
        assert again.status_code == 409
        assert again.json()["error"] == "client_exists"
        bad = client.post("/admin/clients", json={"name": "x y"}, headers=admin)
        assert bad.status_code == 400
        assert bad.json()["error"] == "invalid_client_metadata"
        listed = client.get("/admin/clients", headers=admin).json()
        assert [c["client_id"] for c in listed] == ["svc-z"]
        assert "client_secret" not in listed[0]
        assert secret not in json.dumps(listed)
        got = token_request(client, {"grant_type": "client_credentials"}, basic("svc-z", secret))
        assert got.status_code == 200
        # rotate: the old secret stops working, the new one works
        rotated = client.post("/admin/clients/svc-z/rotate-secret", headers=admin)
        assert rotated.status_code == 200
        new_secret = rotated.json()["client_secret"]
        old = token_request(client, {"grant_type": "client_credentials"}, basic("svc-z", secret))
        assert old.status_code == 401
        new = token_request(
            client, {"grant_type": "client_credentials"}, basic("svc-z", new_secret)
        )
        assert new.status_code == 200
        missing = client.post("/admin/clients/nope/rotate-secret", headers=admin)
        assert missing.status_code == 404
        # disable: no more tokens, and those it had are inactive
        assert client.post("/admin/clients/svc-z/disable", headers=admin).status_code == 204
        after = token_request(
            client, {"grant_type": "client_credentials"}, basic("svc-z", new_secret)
        )
        assert after.status_code == 401
    i = add_client(server, "svc-i", "--audience", "x")
    with server.client() as client:
        seen = client.post(
            "/oauth/introspect",
            data={"token": new.json()["access_token"]},
            headers=basic("svc-i", i["client_secret"]),
        )
        assert seen.json() == {"active": False}
    listed_cli = server.cli("clients", "list", "--json")
    rows = [json.loads(line) for line in listed_cli.stdout.splitlines()]
    assert {r["client_id"]: r["disabled"] for r in rows} == {"svc-z": True, "svc-i": False}


def test_regression_admin_disable_answers_204_without_a_body(server: Server) -> None:
    """The disable route sent ``null`` with its 204: the server raised after answering
    and dropped the connection, so the client's next request on it was reset."""
    with server.client() as client:
        admin = {"Authorization": f"Bearer {admin_token(server, client)}"}
        body = {"name": "svc-d", "audiences": ["svc-y"]}
        assert client.post("/admin/clients", json=body, headers=admin).status_code == 201
        disabled = client.post("/admin/clients/svc-d/disable", headers=admin)
        assert disabled.status_code == 204
        assert disabled.content == b""
        # the same keep-alive connection still serves the next request
        assert client.get("/admin/clients", headers=admin).status_code == 200
    assert "unhandled" not in server.output()


# ---- discovery and a standard client library ------------------------------------------


def test_discovery_lists_every_grant_method_endpoint_and_algorithm(server: Server) -> None:
    meta = httpx.get(f"{server.url}/.well-known/oauth-authorization-server").json()
    assert meta["introspection_endpoint"] == f"{server.url}/oauth/introspect"
    assert set(meta["grant_types_supported"]) == {"refresh_token", "client_credentials", EXCHANGE}
    assert set(meta["token_endpoint_auth_methods_supported"]) == {
        "none",
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
    }
    assert "ES256" in meta["token_endpoint_auth_signing_alg_values_supported"]
    assert "HS256" not in meta["token_endpoint_auth_signing_alg_values_supported"]
    oidc = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    assert oidc["introspection_endpoint"] == meta["introspection_endpoint"]


def test_authlib_client_obtains_tokens_through_discovery(server: Server, tmp_path: Path) -> None:
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

    meta = httpx.get(f"{server.url}/.well-known/oauth-authorization-server").json()
    endpoint = meta["token_endpoint"]
    b = add_client(server, "svc-basic", "--audience", "svc-b", "--scope", "b:read")
    p = add_client(server, "svc-post", "--auth", "client_secret_post", "--audience", "svc-b")
    key = JWK.generate("RS256", kid="a1")
    (tmp_path / "k.json").write_text(json.dumps({"keys": [key.public().to_dict()]}))
    add_client(
        server,
        "svc-jwt",
        "--auth",
        "private_key_jwt",
        "--jwks",
        str(tmp_path / "k.json"),
        "--audience",
        "svc-b",
    )
    assert "client_secret_basic" in meta["token_endpoint_auth_methods_supported"]
    with OAuth2Client(
        "svc-basic", b["client_secret"], token_endpoint_auth_method="client_secret_basic"
    ) as session:
        token = session.fetch_token(endpoint, grant_type="client_credentials", audience="svc-b")
        assert verified(server, token["access_token"], "svc-b")["scope"] == "b:read"
    with OAuth2Client(
        "svc-post", p["client_secret"], token_endpoint_auth_method="client_secret_post"
    ) as session:
        token = session.fetch_token(endpoint, grant_type="client_credentials")
        assert verified(server, token["access_token"], "svc-b")["sub"] == "svc-post"
    pem = key.to_pem().decode()
    with OAuth2Client("svc-jwt", pem, token_endpoint_auth_method="private_key_jwt") as session:
        session.register_client_auth_method(PrivateKeyJWT(endpoint))
        for _ in range(2):  # a fresh jti each time
            token = session.fetch_token(endpoint, grant_type="client_credentials")
            assert verified(server, token["access_token"], "svc-b")["sub"] == "svc-jwt"
    # the first-party public client refreshes with Authlib (auth method "none")
    with server.client() as client:
        user = server.register_and_login(client, "erin")
    with OAuth2Client(
        "first-party", token_endpoint_auth_method="none", token=dict(user)
    ) as session:
        refreshed = session.refresh_token(endpoint, refresh_token=user["refresh_token"])
        assert refreshed["refresh_token"] != user["refresh_token"]
        assert verified(server, refreshed["access_token"], server.url)["sub"]


def test_authlib_token_exchange_with_private_key_jwt_as_documented(
    server: Server, tmp_path: Path
) -> None:
    """The docs' worked example, step 3: Authlib, discovery, private_key_jwt, exchange."""
    from authlib.integrations.httpx_client import OAuth2Client
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

    g = add_client(server, "gateway", "--grant", "token-exchange", "--audience", "orders")
    key = JWK.generate("RS256", kid="o1")
    (tmp_path / "orders.json").write_text(json.dumps({"keys": [key.public().to_dict()]}))
    add_client(
        server,
        "orders",
        "--grant",
        "token-exchange",
        "--audience",
        "billing",
        "--scope",
        "billing:charge",
        "--auth",
        "private_key_jwt",
        "--jwks",
        str(tmp_path / "orders.json"),
    )
    meta = httpx.get(f"{server.url}/.well-known/oauth-authorization-server").json()
    with server.client() as client:
        alice = server.register_and_login(client, "alice")
        to_orders = exchange(
            client, basic("gateway", g["client_secret"]), alice["access_token"], "orders"
        ).json()["access_token"]
    with OAuth2Client(
        "orders", key.to_pem().decode(), token_endpoint_auth_method="private_key_jwt"
    ) as oauth:
        oauth.register_client_auth_method(PrivateKeyJWT(meta["token_endpoint"]))
        token = oauth.fetch_token(
            meta["token_endpoint"],
            grant_type=EXCHANGE,
            subject_token=to_orders,
            subject_token_type=ACCESS,
            audience="billing",
        )
    claims = verified(server, token["access_token"], "billing")
    assert claims["act"] == {"sub": "orders", "act": {"sub": "gateway"}}
    assert claims["scope"] == "billing:charge"
    assert token["issued_token_type"] == ACCESS


def test_rfc7009_client_revokes_its_own_token_only(server: Server) -> None:
    a = add_client(server, "svc-a", "--audience", "svc-b")
    o = add_client(server, "svc-o", "--audience", "svc-b")
    with server.client() as client:
        auth_a = basic("svc-a", a["client_secret"])
        auth_o = basic("svc-o", o["client_secret"])
        grant = {"grant_type": "client_credentials"}
        token = token_request(client, grant, auth_a).json()["access_token"]

        def active() -> bool:
            seen = client.post("/oauth/introspect", data={"token": token}, headers=auth_o)
            return bool(seen.json()["active"])

        # another client's revocation is answered 200 and changes nothing
        other = client.post("/oauth/revoke", data={"token": token}, headers=auth_o)
        assert other.status_code == 200
        assert active()
        wrong = client.post("/oauth/revoke", data={"token": token}, headers=basic("svc-a", "x"))
        assert wrong.status_code == 401
        assert active()
        own = client.post("/oauth/revoke", data={"token": token}, headers=auth_a)
        assert own.status_code == 200
        assert not active()


def test_clients_cli_public_rotate_and_errors(make_server: Any) -> None:
    """The CLI works on the data dir without a running server; exit codes 0/1/2."""
    offline: Server = make_server(start=False)
    public = add_client(offline, "spa", "--public")
    assert "client_secret" not in public
    assert public["token_endpoint_auth_method"] == "none"
    assert public["grant_types"] == []
    confidential = add_client(offline, "svc-a", "--audience", "b", "--access-ttl", "5m")
    assert confidential["access_ttl"] == 300
    rotated = offline.cli("clients", "rotate-secret", "svc-a")
    assert rotated.returncode == 0, rotated.stderr
    new_secret = json.loads(rotated.stdout)["client_secret"]
    assert new_secret != confidential["client_secret"]
    no_secret = offline.cli("clients", "rotate-secret", "spa")
    assert no_secret.returncode == 1
    assert "invalid_client_metadata" in no_secret.stderr
    unknown = offline.cli("clients", "disable", "nobody")
    assert unknown.returncode == 1
    assert "client_not_found" in unknown.stderr
    assert offline.cli("clients", "add", "x", "--grant", "password").returncode == 2
    assert offline.cli("clients", "add", "x", "--access-ttl", "soon").returncode == 2
    public_grant = offline.cli("clients", "add", "x", "--public", "--grant", "token-exchange")
    assert public_grant.returncode == 1
    table = offline.cli("clients", "list")
    assert table.returncode == 0
    assert "spa" in table.stdout
    assert new_secret not in table.stdout
    # the running server accepts the rotated secret
    offline.start()
    with offline.client() as client:
        answer = token_request(
            client, {"grant_type": "client_credentials"}, basic("svc-a", new_secret)
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["expires_in"] == 300


def test_session_revocation_of_an_exchanged_token_reaches_the_feed(make_server: Any) -> None:
    """A revoked session's derived token is inactive everywhere: the feed carries the
    ``sid`` that a resource server holding the exchanged token denies it by."""
    feed_secret = "f" * 32
    server: Server = make_server(revocation_feed_secret=feed_secret)
    a = add_client(server, "svc-a", "--grant", "token-exchange", "--audience", "svc-b")
    with server.client() as client:
        user = server.register_and_login(client, "frank")
        derived = exchange(
            client, basic("svc-a", a["client_secret"]), user["access_token"], "svc-b"
        ).json()["access_token"]
        sid = jwt.peek(derived).claims["sid"]
        out = client.post("/auth/logout", json={"refresh_token": user["refresh_token"]})
        assert out.status_code == 204
        with client.stream(
            "GET", "/auth/revocations", headers={"Authorization": f"Bearer {feed_secret}"}
        ) as response:
            assert response.status_code == 200
            revoked: list[dict[str, Any]] = []
            for line in response.iter_lines():
                if line.startswith("data: "):
                    data = json.loads(line[6:])
                    if "kind" in data:
                        revoked.append(data)
                elif line == "event: ready":
                    break
    assert {"kind": "sid", "value": sid} in [{k: e[k] for k in ("kind", "value")} for e in revoked]


def test_s27_database_and_log_hold_no_client_secret(server: Server) -> None:
    a = add_client(server, "svc-findable", "--audience", "b")
    rotated = json.loads(server.cli("clients", "rotate-secret", "svc-findable").stdout)
    with server.client() as client:
        for secret in (a["client_secret"], rotated["client_secret"]):
            token_request(client, {"grant_type": "client_credentials"}, basic("svc-a", secret))
            token_request(
                client, {"grant_type": "client_credentials"}, basic("svc-findable", secret)
            )
    server.stop()
    stored = b"".join(p.read_bytes() for p in server.data_dir.glob("tokensmith.db*"))
    assert b"svc-findable" in stored  # the scan sees the database's contents
    for secret in (a["client_secret"], rotated["client_secret"]):
        assert secret.encode() not in stored
        assert secret not in server.output()

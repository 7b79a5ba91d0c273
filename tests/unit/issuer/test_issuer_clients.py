"""issuer.clients without HTTP (issue 6): registration rules, secrets only as hashes,
private_key_jwt key sources (inline, jwks_uri with rotation, S4 fetch rules), token
exchange lifetimes, disabling. Memory stores, a fake clock."""

from __future__ import annotations

import hashlib
import http.server
import json
import secrets
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from contract.support import MASTER_KEY, FakeClock
from tokensmith.issuer import AuthError, Issuer, IssuerConfig, OAuthError
from tokensmith.issuer.client_auth import ClientAuthenticator, NoRemoteKeySets, PresentedClient
from tokensmith.jose import JWK, jwt
from tokensmith.store import Stores

pytestmark = pytest.mark.anyio

ISSUER = "http://127.0.0.1:8000"
EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"


def _assertion(key: JWK, client_id: str, now: float, **changes: Any) -> str:
    claims: dict[str, Any] = {
        "iss": client_id,
        "sub": client_id,
        "aud": f"{ISSUER}/oauth/token",
        "exp": int(now) + 60,
        "jti": secrets.token_urlsafe(8),
    }
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}  # None: leave it out
    return jwt.encode(claims, key, header={"kid": key.kid})


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"name": "has space"}, "client_id"),
        ({"name": "0b5e4a8e-1111-4222-8333-944444444444"}, "UUID"),
        ({"name": "x" * 65}, "client_id"),
        ({"grant_types": ("password",)}, "unknown grant"),
        ({"auth_method": "client_secret_jwt"}, "auth method"),
        ({"auth_method": "none"}, "public client"),
        ({"auth_method": "private_key_jwt"}, "exactly one"),
        ({"auth_method": "private_key_jwt", "jwks_uri": "http://keys.example/j"}, "https"),
        ({"jwks_uri": "https://keys.example/j"}, "private_key_jwt"),
        ({"scopes": ("a b",)}, "scope"),
        ({"audiences": ("has space",)}, "audience"),
        ({"access_ttl": 5}, "access_ttl"),
        ({"access_ttl": 901}, "server's access_ttl"),
        ({"signing_alg": "RS256"}, "signing_alg"),
        ({"audiences": (ISSUER,)}, "server's own audience"),
        ({"audiences": (ISSUER + "/",)}, "server's own audience"),
    ],
)
async def test_bad_client_metadata_refused(
    issuer: Issuer, changes: dict[str, Any], why: str
) -> None:
    args: dict[str, Any] = {"name": "svc-a", **changes}
    with pytest.raises(AuthError, match=why) as caught:
        await issuer.clients.create(**args)
    assert caught.value.code == "invalid_client_metadata"


async def test_private_jwks_refused_and_first_party_name_taken(issuer: Issuer) -> None:
    private = JWK.generate("ES256", kid="p")
    with pytest.raises(AuthError) as caught:
        await issuer.clients.create(
            name="svc-k", auth_method="private_key_jwt", jwks={"keys": [private.to_dict()]}
        )
    assert caught.value.code == "invalid_client_metadata"
    with pytest.raises(AuthError) as taken:
        await issuer.clients.create(name="first-party")
    assert taken.value.code == "client_exists"


async def test_s27_client_secret_stored_only_as_its_hash(issuer: Issuer, stores: Stores) -> None:
    new = await issuer.clients.create(name="svc-a", audiences=("b",))
    assert new.client_secret is not None
    assert len(new.client_secret) == 43
    record = await stores.clients.get("svc-a")
    assert record is not None
    assert record.secret_hash == hashlib.sha256(new.client_secret.encode()).hexdigest()
    assert new.client_secret not in repr(record)
    assert new.client_secret not in repr(await issuer.clients.list())
    events = await issuer.audit_events()
    assert new.client_secret not in repr(events)
    rotated = await issuer.clients.rotate_secret(client_id="svc-a")
    with pytest.raises(OAuthError):
        await issuer.clients.authenticate(
            PresentedClient("client_secret_basic", "svc-a", new.client_secret)
        )
    failed = await issuer.audit_events(kind="client_auth_failed")
    assert [(e.details["client_id"], e.details["method"]) for e in failed] == [
        ("svc-a", "client_secret_basic")
    ]
    assert new.client_secret not in repr(failed)
    ok = await issuer.clients.authenticate(PresentedClient("client_secret_basic", "svc-a", rotated))
    assert ok.client_id == "svc-a"


async def test_rotate_secret_of_a_key_client_is_refused(issuer: Issuer) -> None:
    key = JWK.generate("ES256", kid="k")
    await issuer.clients.create(
        name="svc-k", auth_method="private_key_jwt", jwks={"keys": [key.public().to_dict()]}
    )
    with pytest.raises(AuthError) as caught:
        await issuer.clients.rotate_secret(client_id="svc-k")
    assert caught.value.code == "invalid_client_metadata"
    with pytest.raises(AuthError) as missing:
        await issuer.clients.rotate_secret(client_id="nobody")
    assert missing.value.code == "client_not_found"


async def test_exchanged_token_never_outlives_its_subject(issuer: Issuer, clock: FakeClock) -> None:
    new = await issuer.clients.create(
        name="svc-a", grant_types=(EXCHANGE,), audiences=("svc-b",), access_ttl=900
    )
    client = await issuer.clients.authenticate(
        PresentedClient("client_secret_basic", "svc-a", new.client_secret)
    )
    await issuer.add_user(username="alice", password="long enough password")
    pair = await issuer.login(username="alice", password="long enough password")
    clock.advance(800)  # the user's token (900 s) has 100 s left
    issued = await issuer.clients.exchange(
        client=client,
        subject_token=pair.access_token,
        subject_token_type=ACCESS,
        audiences=["svc-b"],
    )
    claims = jwt.peek(issued.access_token).claims
    assert claims["exp"] == jwt.peek(pair.access_token).claims["exp"]
    assert issued.expires_in == 100
    clock.advance(101)
    with pytest.raises(OAuthError) as expired:
        await issuer.clients.exchange(
            client=client,
            subject_token=pair.access_token,
            subject_token_type=ACCESS,
            audiences=["svc-b"],
        )
    assert expired.value.error == "invalid_grant"


async def test_disabling_a_client_denies_its_own_tokens(issuer: Issuer, clock: FakeClock) -> None:
    new = await issuer.clients.create(name="svc-a", audiences=("svc-b",))
    presented = PresentedClient("client_secret_post", "svc-a", new.client_secret)
    with pytest.raises(OAuthError, match="authenticates with client_secret_basic"):
        await issuer.clients.authenticate(presented)
    basic = PresentedClient("client_secret_basic", "svc-a", new.client_secret)
    client = await issuer.clients.authenticate(basic)
    token = (await issuer.clients.client_credentials(client=client)).access_token
    assert (await issuer.clients.verify_token(token))["sub"] == "svc-a"
    await issuer.clients.disable(client_id="svc-a")
    with pytest.raises(AuthError, match="revoked"):
        await issuer.clients.verify_token(token)
    with pytest.raises(OAuthError, match="disabled"):
        await issuer.clients.authenticate(basic)
    clock.advance(2)
    await issuer.clients.enable(client_id="svc-a")
    again = await issuer.clients.authenticate(basic)
    fresh = (await issuer.clients.client_credentials(client=again)).access_token
    assert (await issuer.clients.verify_token(fresh))["client_id"] == "svc-a"


async def test_assertion_lifetime_and_replay_window(
    issuer: Issuer, stores: Stores, clock: FakeClock
) -> None:
    key = JWK.generate("ES256", kid="k")
    await issuer.clients.create(
        name="svc-k",
        auth_method="private_key_jwt",
        audiences=("b",),
        jwks={"keys": [key.public().to_dict()]},
    )
    auth = issuer.clients.authenticator
    too_long = _assertion(key, "svc-k", clock(), exp=int(clock()) + 3601 + 30)
    with pytest.raises(OAuthError, match="exp must be within"):
        await auth.authenticate(PresentedClient("private_key_jwt", assertion=too_long))
    no_jti = _assertion(key, "svc-k", clock(), jti=None)
    with pytest.raises(OAuthError, match="jwt_missing_claim"):
        await auth.authenticate(PresentedClient("private_key_jwt", assertion=no_jti))
    once = _assertion(key, "svc-k", clock(), jti="fixed")
    assert (await auth.authenticate(PresentedClient("private_key_jwt", assertion=once))).client_id
    with pytest.raises(OAuthError, match="replay"):
        await auth.authenticate(PresentedClient("private_key_jwt", assertion=once))
    mismatch = PresentedClient("private_key_jwt", client_id="other", assertion=once)
    with pytest.raises(OAuthError, match="does not match"):
        await auth.authenticate(mismatch)


class _PublishedKeys:
    """A :class:`RemoteKeySets` double: https URLs only; serves the ``published`` keys
    and records each fetch."""

    def __init__(self, published: list[JWK]) -> None:
        self.published = published
        self.fetched: list[str] = []

    def check_url(self, url: str) -> None:
        if not url.startswith("https://"):
            raise ValueError("https only")

    async def fetch(self, url: str) -> bytes:
        self.fetched.append(url)
        return json.dumps({"keys": [k.public().to_dict() for k in self.published]}).encode()


async def _register_jwks_uri_client(
    config: IssuerConfig, stores: Stores, clock: FakeClock, remote: _PublishedKeys, name: str
) -> None:
    issuer = await Issuer.open(
        config, stores, master_key=MASTER_KEY, clock=clock, remote_keys=remote
    )
    try:
        await issuer.clients.create(
            name=name,
            auth_method="private_key_jwt",
            audiences=("b",),
            jwks_uri="https://keys.example/jwks.json",
        )
    finally:
        await issuer.close()


async def test_jwks_uri_cached_and_refetched_for_a_new_kid(
    config: IssuerConfig, stores: Stores, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A client rotates its key by publishing the new one: an unknown kid refetches (at
    most every 30 s); a known one is served from the cache."""
    old = JWK.generate("ES256", kid="old")
    new = JWK.generate("ES256", kid="new")
    remote = _PublishedKeys([old])
    await _register_jwks_uri_client(config, stores, clock, remote, "svc-u")
    auth = ClientAuthenticator(stores=stores, issuer=ISSUER, clock=clock, remote_keys=remote)
    for _ in range(3):
        await auth.authenticate(
            PresentedClient("private_key_jwt", assertion=_assertion(old, "svc-u", clock()))
        )
    assert remote.fetched == ["https://keys.example/jwks.json"]
    remote.published.append(new)
    # within 30 s of the last fetch an unknown kid does not refetch
    with pytest.raises(OAuthError, match="not valid"):
        await auth.authenticate(
            PresentedClient("private_key_jwt", assertion=_assertion(new, "svc-u", clock()))
        )
    assert len(remote.fetched) == 1
    from tokensmith.issuer import client_auth

    base = client_auth.time.monotonic()
    monkeypatch.setattr(client_auth.time, "monotonic", lambda: base + 31)
    done = await auth.authenticate(
        PresentedClient("private_key_jwt", assertion=_assertion(new, "svc-u", clock()))
    )
    assert done.client_id == "svc-u"
    assert len(remote.fetched) == 2


async def test_without_a_fetcher_jwks_uri_clients_are_refused(
    config: IssuerConfig, stores: Stores, clock: FakeClock
) -> None:
    """issuer/ does no HTTP: built without a RemoteKeySets, it refuses a jwks_uri client
    at registration (an inline JWKS still works)."""
    issuer = await Issuer.open(config, stores, master_key=MASTER_KEY, clock=clock)
    try:
        with pytest.raises(AuthError, match="does not fetch jwks_uri"):
            await issuer.clients.create(
                name="svc-x",
                auth_method="private_key_jwt",
                audiences=("b",),
                jwks_uri="https://keys.example/jwks.json",
            )
        key = JWK.generate("ES256", kid="k")
        await issuer.clients.create(
            name="svc-y",
            auth_method="private_key_jwt",
            audiences=("b",),
            jwks={"keys": [key.public().to_dict()]},
        )
    finally:
        await issuer.close()


async def test_a_refused_jwks_uri_is_invalid_client_at_authentication(
    stores: Stores, clock: FakeClock, config: IssuerConfig
) -> None:
    """A stored jwks_uri the fetcher now refuses, or cannot read, ends in invalid_client."""
    key = JWK.generate("ES256", kid="k")
    remote = _PublishedKeys([key])
    await _register_jwks_uri_client(config, stores, clock, remote, "svc-r")
    presented = PresentedClient("private_key_jwt", assertion=_assertion(key, "svc-r", clock()))
    refusing = ClientAuthenticator(
        stores=stores, issuer=ISSUER, clock=clock, remote_keys=NoRemoteKeySets()
    )
    with pytest.raises(OAuthError, match="jwks_uri refused") as caught:
        await refusing.authenticate(presented)
    assert caught.value.error == "invalid_client"
    remote.published = []  # the document no longer holds the key
    with pytest.raises(OAuthError) as caught:
        await ClientAuthenticator(
            stores=stores, issuer=ISSUER, clock=clock, remote_keys=remote
        ).authenticate(presented)
    assert caught.value.error == "invalid_client"


@pytest.fixture
def redirecting_server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/redirect":
                self.send_response(302)
                self.send_header("Location", "/jwks.json")
                self.end_headers()
                return
            body = b'{"keys": []}' + b" " * (300 * 1024 if self.path == "/huge" else 0)
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            return

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


async def test_s4_jwks_uri_fetch_rules(redirecting_server: str) -> None:
    """The server's fetcher (what ``tokensmith serve`` gives the issuer) under S4."""
    from tokensmith.jose import JoseError
    from tokensmith.server.remote_keys import HttpRemoteKeySets

    remote = HttpRemoteKeySets()
    assert await remote.fetch(f"{redirecting_server}/jwks.json") == b'{"keys": []}'
    for path in ("/redirect", "/huge"):
        with pytest.raises(JoseError):
            await remote.fetch(f"{redirecting_server}{path}")
    for url in ("http://keys.example/jwks.json", "file:///etc/passwd"):
        with pytest.raises(ValueError, match=r"https|no host"):
            remote.check_url(url)
        with pytest.raises(ValueError, match=r"https|no host"):
            await remote.fetch(url)

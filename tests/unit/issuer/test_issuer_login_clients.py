"""Login clients (issue 6): a registered public client with the ``refresh_token`` grant
starts user sessions at login; its tokens carry its client_id, signing algorithm and
access_ttl; its refresh tokens work only for it. Memory stores, a fake clock."""

from __future__ import annotations

import pytest

from contract.support import MASTER_KEY, CountingHasher, FakeClock, make_config
from tokensmith.issuer import AuthError, Issuer, OAuthError
from tokensmith.issuer.clients import PAGES_CLIENT
from tokensmith.issuer.config import PAGES_CLIENT_ID
from tokensmith.jose import jwt
from tokensmith.store import Stores

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"


@pytest.fixture
async def issuer(stores: Stores, clock: FakeClock) -> Issuer:
    built = await Issuer.open(
        make_config(signing_algs=("EdDSA",)),
        stores,
        master_key=MASTER_KEY,
        clock=clock,
        hasher=CountingHasher(),
    )
    await built.register(username="alice", password=PASSWORD)
    return built


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"grant_types": ("refresh_token",)}, "public clients"),
        ({"auth_method": "none", "grant_types": ("refresh_token", "client_credentials")}, "public"),
        ({"cookie_mode": True, "audiences": ("a",)}, "cookie_mode"),
        ({"auth_method": "none", "grant_types": (), "cookie_mode": True}, "cookie_mode"),
        ({"grant_types": ("password",)}, "unknown grant"),
    ],
)
async def test_login_client_registration_rules(
    issuer: Issuer, changes: dict[str, object], why: str
) -> None:
    with pytest.raises(AuthError) as caught:
        await issuer.clients.create(name="spa", **changes)  # type: ignore[arg-type]
    assert caught.value.code == "invalid_client_metadata"
    assert why in caught.value.message
    await issuer.close()


async def test_a_login_clients_sessions_and_tokens_are_its_own(
    issuer: Issuer, clock: FakeClock
) -> None:
    await issuer.clients.create(
        name="spa",
        auth_method="none",
        grant_types=("refresh_token",),
        access_ttl=120,
        signing_alg="EdDSA",
        cookie_mode=True,
    )
    pair = await issuer.login(username="alice", password=PASSWORD, client_id="spa")
    token = jwt.peek(pair.access_token)
    assert token.header["alg"] == "EdDSA"
    assert (token.claims["client_id"], token.claims["exp"] - token.claims["iat"]) == ("spa", 120)
    assert pair.expires_in == 120
    claims = await issuer.authenticate(pair.access_token)  # the server's own audience
    assert claims.client_id == "spa"
    sessions = await issuer.list_sessions(user_id=claims.sub)
    assert [s.client_id for s in sessions] == ["spa"]
    # refused as another client's, before it is consumed
    for other in ("first-party", "spa-x"):
        with pytest.raises(OAuthError) as caught:
            await issuer.refresh(refresh_token=pair.refresh_token, client_id=other)
        assert caught.value.error == "invalid_grant"
    again = await issuer.refresh(refresh_token=pair.refresh_token, client_id="spa")
    assert jwt.peek(again.access_token).header["alg"] == "EdDSA"
    # a disabled client's sessions refresh no more
    await issuer.clients.disable(client_id="spa")
    with pytest.raises(OAuthError) as caught:
        await issuer.refresh(refresh_token=again.refresh_token, client_id="spa")
    assert caught.value.error == "invalid_grant"
    with pytest.raises(OAuthError) as refused:
        await issuer.login(username="alice", password=PASSWORD, client_id="spa")
    assert refused.value.error == "invalid_client"
    await issuer.close()


async def test_only_public_clients_with_the_refresh_grant_log_users_in(issuer: Issuer) -> None:
    await issuer.clients.create(name="svc", audiences=("api",))
    await issuer.clients.create(name="pub", auth_method="none", grant_types=())
    before = issuer.passwords.hasher.verifies  # type: ignore[attr-defined]
    for client_id, error in (("svc", "invalid_client"), ("pub", "unauthorized_client")):
        with pytest.raises(OAuthError) as caught:
            await issuer.login(username="alice", password=PASSWORD, client_id=client_id)
        assert caught.value.error == error
    with pytest.raises(OAuthError):
        await issuer.login(username="alice", password=PASSWORD, client_id="nobody")
    # refused before the password is checked
    assert issuer.passwords.hasher.verifies == before  # type: ignore[attr-defined]
    await issuer.close()


# ---- the web pages' built-in client ------------------------------------------------


@pytest.mark.parametrize("name", ["tokensmith-pages", "Tokensmith-Pages"])
async def test_the_pages_client_id_cannot_be_registered(issuer: Issuer, name: str) -> None:
    with pytest.raises(AuthError) as caught:
        await issuer.clients.create(name=name, auth_method="none", grant_types=("refresh_token",))
    assert caught.value.code == "client_exists"
    assert "web pages" in caught.value.message
    assert await issuer.clients.list() == []
    # and it is not in the registry, so nothing the admin API does can change it
    for change in (issuer.clients.get, issuer.clients.disable, issuer.clients.rotate_secret):
        with pytest.raises(AuthError) as missing:
            await change(client_id=PAGES_CLIENT_ID)
        assert missing.value.code == "client_not_found"
    await issuer.close()


def test_the_first_party_client_may_not_take_the_pages_client_id() -> None:
    with pytest.raises(ValueError, match="web pages"):
        make_config(first_party_client_id=PAGES_CLIENT_ID)


async def test_the_pages_client_is_a_built_in_cookie_mode_login_client(
    issuer: Issuer, clock: FakeClock
) -> None:
    client = await issuer.clients.login_client(PAGES_CLIENT_ID)
    assert client is PAGES_CLIENT
    assert (client.public, client.grant_types, client.cookie_mode) == (
        True,
        ("refresh_token",),
        True,
    )
    pair = await issuer.login(username="alice", password=PASSWORD, client_id=PAGES_CLIENT_ID)
    token = jwt.peek(pair.access_token)
    # the server's key, lifetime and audience: the tokens open /userinfo and the admin API
    assert token.header["alg"] == "ES256"
    assert token.claims["client_id"] == PAGES_CLIENT_ID
    assert pair.expires_in == issuer.config.access_ttl
    claims = await issuer.authenticate(pair.access_token)
    sessions = await issuer.list_sessions(user_id=claims.sub)
    assert [s.client_id for s in sessions] == [PAGES_CLIENT_ID]

    # its refresh tokens rotate with reuse detection, like every session's, and only for it
    with pytest.raises(OAuthError) as other:
        await issuer.refresh(refresh_token=pair.refresh_token, client_id="first-party")
    assert other.value.error == "invalid_grant"
    clock.advance(60)
    child = await issuer.refresh(refresh_token=pair.refresh_token, client_id=PAGES_CLIENT_ID)
    assert jwt.peek(child.access_token).claims["client_id"] == PAGES_CLIENT_ID
    clock.advance(issuer.config.refresh_grace + 1)
    with pytest.raises(OAuthError) as reused:
        await issuer.refresh(refresh_token=pair.refresh_token, client_id=PAGES_CLIENT_ID)
    assert "reuse" in reused.value.description
    with pytest.raises(OAuthError):
        await issuer.refresh(refresh_token=child.refresh_token, client_id=PAGES_CLIENT_ID)

    # the audit log says which client signed in and refreshed
    (login,) = await issuer.audit_events(kind="login_ok")
    (refresh,) = await issuer.audit_events(kind="refresh")
    assert login.details["client_id"] == refresh.details["client_id"] == PAGES_CLIENT_ID
    await issuer.close()

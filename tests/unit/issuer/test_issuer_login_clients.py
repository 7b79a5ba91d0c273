"""Login clients (issue 6): a registered public client with the ``refresh_token`` grant
starts user sessions at login; its tokens carry its client_id, signing algorithm and
access_ttl; its refresh tokens work only for it. Memory stores, a fake clock."""

from __future__ import annotations

import pytest

from contract.support import MASTER_KEY, CountingHasher, FakeClock, make_config
from tokensmith.issuer import AuthError, Issuer, OAuthError
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

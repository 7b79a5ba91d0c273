"""The DPoP binding at the issuer (RFC 9449, issue 9), without HTTP: proofs at login,
refresh and the client grants, replay, server nonces, per-client modes, bound refresh
families, bound tokens at the server's own protected endpoints, introspection and
revocation of bound tokens. Memory stores and a fake clock; proofs made with
tokensmith.jose.dpop.make_proof."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from contract.support import MASTER_KEY, CountingHasher, FakeClock, make_config
from tokensmith.issuer import (
    AuthError,
    DPoPAuthError,
    DPoPConfig,
    DPoPProofError,
    DPoPRequest,
    Issuer,
    OAuthError,
    TokenPair,
)
from tokensmith.issuer.client_auth import PresentedClient
from tokensmith.jose import JWK, jwt
from tokensmith.jose.dpop import make_proof
from tokensmith.store import Stores, memory_stores

pytestmark = pytest.mark.anyio

ISSUER = "http://127.0.0.1:8000"
LOGIN = f"{ISSUER}/auth/login"
REFRESH = f"{ISSUER}/auth/refresh"
TOKEN = f"{ISSUER}/oauth/token"
USERINFO = f"{ISSUER}/userinfo"


@pytest.fixture
def key() -> JWK:
    return JWK.generate("ES256")


@pytest.fixture
def other_key() -> JWK:
    return JWK.generate("ES256")


def proof(
    key: JWK,
    clock: FakeClock,
    url: str,
    *,
    method: str = "POST",
    **extra: Any,
) -> DPoPRequest:
    value = make_proof(key, htm=method, htu=url, iat=int(clock.now), **extra)
    return DPoPRequest(proofs=(value,), method=method, url=url)


async def open_issuer(
    clock: FakeClock,
    stores: Stores | None = None,
    hasher: CountingHasher | None = None,
    **dpop: Any,
) -> Issuer:
    config = make_config(dpop=DPoPConfig(**dpop))
    built = await Issuer.open(
        config,
        stores or memory_stores(),
        master_key=MASTER_KEY,
        clock=clock,
        hasher=hasher or CountingHasher(),
    )
    await built.add_user(username="alice", password="correct horse")
    return built


@pytest.fixture
async def issuer(clock: FakeClock) -> Any:
    built = await open_issuer(clock)
    try:
        yield built
    finally:
        await built.close()


def cnf(token: str) -> Any:
    return jwt.peek(token).claims.get("cnf")


async def login(issuer: Issuer, dpop: DPoPRequest | None = None) -> TokenPair:
    return await issuer.login(username="alice", password="correct horse", dpop=dpop)


# ---- login -------------------------------------------------------------------------------


async def test_login_with_a_proof_binds_tokens_and_session(
    issuer: Issuer, key: JWK, clock: FakeClock
) -> None:
    pair = await login(issuer, proof(key, clock, LOGIN))
    assert pair.token_type == "DPoP"
    assert cnf(pair.access_token) == {"jkt": key.thumbprint()}
    session = await issuer._stores.sessions.get(pair.session_id)
    assert session is not None
    assert session.dpop_jkt == key.thumbprint()


async def test_login_without_a_proof_stays_bearer(issuer: Issuer) -> None:
    pair = await login(issuer)
    assert pair.token_type == "Bearer"
    assert cnf(pair.access_token) is None


async def test_first_party_required_refuses_before_the_password(clock: FakeClock) -> None:
    hasher = CountingHasher()
    issuer = await open_issuer(clock, hasher=hasher, first_party="required")
    try:
        before = hasher.verifies
        with pytest.raises(DPoPProofError) as caught:
            await login(issuer)
        assert caught.value.error == "invalid_dpop_proof"
        assert hasher.verifies == before
        with pytest.raises(DPoPProofError):
            await login(issuer, DPoPRequest(proofs=(), method="POST", url=LOGIN))
    finally:
        await issuer.close()


async def test_first_party_off_ignores_even_a_bad_proof(clock: FakeClock, key: JWK) -> None:
    issuer = await open_issuer(clock, first_party="off")
    try:
        garbage = DPoPRequest(proofs=("not-a-proof",), method="POST", url=LOGIN)
        pair = await login(issuer, garbage)
        assert pair.token_type == "Bearer"
        assert cnf(pair.access_token) is None
        pair = await login(issuer, proof(key, clock, LOGIN))
        assert pair.token_type == "Bearer"
    finally:
        await issuer.close()


@pytest.mark.parametrize(
    "bad",
    [
        "wrong_url",
        "wrong_method",
        "stale",
        "future",
        "two_headers",
        "garbage",
        "private_jwk",
        "hs256",
    ],
)
async def test_s24_bad_login_proofs_refused(
    issuer: Issuer, key: JWK, clock: FakeClock, bad: str
) -> None:
    now = int(clock.now)
    request: DPoPRequest
    if bad == "wrong_url":
        request = DPoPRequest(
            proofs=(make_proof(key, htm="POST", htu=REFRESH, iat=now),), method="POST", url=LOGIN
        )
    elif bad == "wrong_method":
        request = DPoPRequest(
            proofs=(make_proof(key, htm="GET", htu=LOGIN, iat=now),), method="POST", url=LOGIN
        )
    elif bad == "stale":
        request = DPoPRequest(
            proofs=(make_proof(key, htm="POST", htu=LOGIN, iat=now - 600),),
            method="POST",
            url=LOGIN,
        )
    elif bad == "future":
        request = DPoPRequest(
            proofs=(make_proof(key, htm="POST", htu=LOGIN, iat=now + 600),),
            method="POST",
            url=LOGIN,
        )
    elif bad == "two_headers":
        one = make_proof(key, htm="POST", htu=LOGIN, iat=now)
        request = DPoPRequest(proofs=(one, one), method="POST", url=LOGIN)
    elif bad == "garbage":
        request = DPoPRequest(proofs=("a.b.c",), method="POST", url=LOGIN)
    elif bad == "private_jwk":
        good = make_proof(key, htm="POST", htu=LOGIN, iat=now)
        header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.to_dict()}
        claims = jwt.peek(good).claims
        forged = jwt.encode(dict(claims), key, alg="ES256", header=header)
        request = DPoPRequest(proofs=(forged,), method="POST", url=LOGIN)
    else:
        secret = JWK.generate("HS256")
        forged = jwt.encode(
            {"jti": "x", "htm": "POST", "htu": LOGIN, "iat": now},
            secret,
            alg="HS256",
            typ="dpop+jwt",
        )
        request = DPoPRequest(proofs=(forged,), method="POST", url=LOGIN)
    with pytest.raises(DPoPProofError) as caught:
        await login(issuer, request)
    assert caught.value.error == "invalid_dpop_proof"
    assert caught.value.nonce is None  # nonces are off


async def test_s24_replayed_proof_refused(issuer: Issuer, key: JWK, clock: FakeClock) -> None:
    request = proof(key, clock, LOGIN)
    await login(issuer, request)
    clock.advance(5)
    with pytest.raises(DPoPProofError, match="replay") as caught:
        await login(issuer, request)
    assert caught.value.error == "invalid_dpop_proof"


async def test_replay_is_refused_by_another_instance_on_the_same_stores(
    clock: FakeClock, key: JWK
) -> None:
    stores = memory_stores()
    first = await open_issuer(clock, stores)
    second = await Issuer.open(
        make_config(), stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
    )
    try:
        request = proof(key, clock, LOGIN)
        await login(first, request)
        with pytest.raises(DPoPProofError, match="replay"):
            await login(second, request)
    finally:
        await first.close()
        await second.close()


async def test_replay_entries_expire_with_the_proof_window(
    issuer: Issuer, key: JWK, clock: FakeClock
) -> None:
    await login(issuer, proof(key, clock, LOGIN))
    clock.advance(60 + 5 + 1)
    await issuer.maintain_keys()
    # the entry is gone, and the proof is too old to be accepted again anyway
    assert await issuer._stores.assertion_replays.purge(now=clock.now) == 0


# ---- refresh -----------------------------------------------------------------------------


async def test_bound_refresh_needs_the_same_key(
    issuer: Issuer, key: JWK, other_key: JWK, clock: FakeClock
) -> None:
    pair = await login(issuer, proof(key, clock, LOGIN))
    with pytest.raises(DPoPProofError) as missing:
        await issuer.refresh(refresh_token=pair.refresh_token)
    assert missing.value.error == "invalid_dpop_proof"
    with pytest.raises(OAuthError) as other:
        await issuer.refresh(
            refresh_token=pair.refresh_token, dpop=proof(other_key, clock, REFRESH)
        )
    assert other.value.error == "invalid_grant"
    assert "another DPoP key" in other.value.description
    # neither attempt consumed the token: the owner still refreshes, bound again
    renewed = await issuer.refresh(
        refresh_token=pair.refresh_token, dpop=proof(key, clock, REFRESH)
    )
    assert renewed.token_type == "DPoP"
    assert cnf(renewed.access_token) == {"jkt": key.thumbprint()}
    assert renewed.session_id == pair.session_id
    # and the child is bound too
    with pytest.raises(DPoPProofError):
        await issuer.refresh(refresh_token=renewed.refresh_token)


async def test_bound_refresh_needs_a_proof_even_when_the_mode_is_now_off(
    clock: FakeClock, key: JWK
) -> None:
    stores = memory_stores()
    before = await open_issuer(clock, stores)
    pair = await login(before, proof(key, clock, LOGIN))
    await before.close()
    after = await Issuer.open(
        make_config(dpop=DPoPConfig(first_party="off")),
        stores,
        master_key=MASTER_KEY,
        clock=clock,
        hasher=CountingHasher(),
    )
    try:
        with pytest.raises(DPoPProofError):
            await after.refresh(refresh_token=pair.refresh_token)
        renewed = await after.refresh(
            refresh_token=pair.refresh_token, dpop=proof(key, clock, REFRESH)
        )
        assert renewed.token_type == "DPoP"
    finally:
        await after.close()


async def test_proof_on_an_unbound_session_binds_it(
    issuer: Issuer, key: JWK, other_key: JWK, clock: FakeClock
) -> None:
    pair = await login(issuer)
    renewed = await issuer.refresh(refresh_token=pair.refresh_token, dpop=proof(key, clock, TOKEN))
    assert renewed.token_type == "DPoP"
    assert cnf(renewed.access_token) == {"jkt": key.thumbprint()}
    with pytest.raises(DPoPProofError):
        await issuer.refresh(refresh_token=renewed.refresh_token)
    with pytest.raises(OAuthError, match="another DPoP key"):
        await issuer.refresh(
            refresh_token=renewed.refresh_token, dpop=proof(other_key, clock, TOKEN)
        )


async def test_unbound_session_refreshes_without_a_proof(issuer: Issuer) -> None:
    pair = await login(issuer)
    renewed = await issuer.refresh(refresh_token=pair.refresh_token)
    assert renewed.token_type == "Bearer"
    assert cnf(renewed.access_token) is None


async def test_s25_reuse_of_a_bound_token_revokes_the_family_without_a_proof(
    issuer: Issuer, key: JWK, clock: FakeClock
) -> None:
    pair = await login(issuer, proof(key, clock, LOGIN))
    renewed = await issuer.refresh(
        refresh_token=pair.refresh_token, dpop=proof(key, clock, REFRESH)
    )
    clock.advance(60)  # past the grace window
    # an attacker replays the consumed token without the key: reuse, the family ends
    with pytest.raises(OAuthError, match="reuse"):
        await issuer.refresh(refresh_token=pair.refresh_token)
    with pytest.raises(OAuthError) as caught:
        await issuer.refresh(refresh_token=renewed.refresh_token, dpop=proof(key, clock, REFRESH))
    assert caught.value.error == "invalid_grant"


async def test_grace_retry_of_a_bound_token_needs_the_key(
    issuer: Issuer, key: JWK, other_key: JWK, clock: FakeClock
) -> None:
    pair = await login(issuer, proof(key, clock, LOGIN))
    first = await issuer.refresh(refresh_token=pair.refresh_token, dpop=proof(key, clock, REFRESH))
    clock.advance(1)
    with pytest.raises(OAuthError, match="another DPoP key"):
        await issuer.refresh(
            refresh_token=pair.refresh_token, dpop=proof(other_key, clock, REFRESH)
        )
    retry = await issuer.refresh(refresh_token=pair.refresh_token, dpop=proof(key, clock, REFRESH))
    assert retry.refresh_token == first.refresh_token


# ---- nonces ------------------------------------------------------------------------------


async def test_nonce_required_then_accepted(clock: FakeClock, key: JWK) -> None:
    issuer = await open_issuer(clock, nonce=True, nonce_period=300)
    try:
        with pytest.raises(DPoPProofError) as caught:
            await login(issuer, proof(key, clock, LOGIN))
        assert caught.value.error == "use_dpop_nonce"
        nonce = caught.value.nonce
        assert nonce is not None
        assert nonce == issuer.dpop.nonce()
        pair = await login(issuer, proof(key, clock, LOGIN, nonce=nonce))
        assert pair.token_type == "DPoP"
        # a wrong nonce is a nonce error too
        with pytest.raises(DPoPProofError) as wrong:
            await login(issuer, proof(key, clock, LOGIN, nonce="not-our-nonce"))
        assert wrong.value.error == "use_dpop_nonce"
    finally:
        await issuer.close()


async def test_nonce_rotates_previous_window_accepted_older_refused(
    clock: FakeClock, key: JWK
) -> None:
    issuer = await open_issuer(clock, nonce=True, nonce_period=300)
    try:
        old = issuer.dpop.nonce()
        assert old is not None
        clock.advance(300)
        current = issuer.dpop.nonce()
        assert current is not None
        assert current != old
        await login(issuer, proof(key, clock, LOGIN, nonce=old))
        clock.advance(300)
        with pytest.raises(DPoPProofError) as caught:
            await login(issuer, proof(key, clock, LOGIN, nonce=old))
        assert caught.value.error == "use_dpop_nonce"
        assert caught.value.nonce == issuer.dpop.nonce()
    finally:
        await issuer.close()


async def test_nonces_agree_across_instances_with_one_master_key(clock: FakeClock) -> None:
    config = make_config(dpop=DPoPConfig(nonce=True))
    one = await Issuer.open(config, memory_stores(), master_key=MASTER_KEY, clock=clock)
    two = await Issuer.open(config, memory_stores(), master_key=MASTER_KEY, clock=clock)
    three = await Issuer.open(config, memory_stores(), master_key=bytes(32), clock=clock)
    try:
        assert one.dpop.nonce() == two.dpop.nonce()
        assert one.dpop.nonce() != three.dpop.nonce()
    finally:
        for built in (one, two, three):
            await built.close()


async def test_nonces_off_means_no_nonce(issuer: Issuer) -> None:
    assert issuer.dpop.nonce() is None


# ---- the server's protected endpoints ----------------------------------------------------


async def test_bound_token_at_a_protected_endpoint(
    issuer: Issuer, key: JWK, other_key: JWK, clock: FakeClock
) -> None:
    pair = await login(issuer, proof(key, clock, LOGIN))
    token = pair.access_token

    def request(signer: JWK, **extra: Any) -> DPoPRequest:
        return proof(signer, clock, USERINFO, method="GET", **extra)

    claims = await issuer.authenticate(token, dpop=request(key, access_token=token))
    assert claims.sid == pair.session_id
    failures: dict[str, DPoPRequest | None] = {
        "as bearer": None,
        "no proof": DPoPRequest(proofs=(), method="GET", url=USERINFO),
        "no ath": request(key),
        "other key": request(other_key, access_token=token),
        "other token": request(key, access_token=pair.refresh_token),
    }
    codes = {}
    for name, dpop in failures.items():
        with pytest.raises(DPoPAuthError) as caught:
            await issuer.authenticate(token, dpop=dpop)
        assert caught.value.algs == issuer.dpop.algorithms
        codes[name] = caught.value.code
    assert codes == {
        "as bearer": "invalid_token",
        "no proof": "invalid_dpop_proof",
        "no ath": "invalid_dpop_proof",
        "other key": "invalid_dpop_proof",
        "other token": "invalid_dpop_proof",
    }


async def test_replayed_proof_at_a_protected_endpoint(
    issuer: Issuer, key: JWK, clock: FakeClock
) -> None:
    token = (await login(issuer, proof(key, clock, LOGIN))).access_token
    once = proof(key, clock, USERINFO, method="GET", access_token=token)
    await issuer.authenticate(token, dpop=once)
    with pytest.raises(DPoPAuthError, match="replay") as caught:
        await issuer.authenticate(token, dpop=once)
    assert caught.value.code == "invalid_dpop_proof"


async def test_unbound_token_under_the_dpop_scheme_refused(
    issuer: Issuer, key: JWK, clock: FakeClock
) -> None:
    token = (await login(issuer)).access_token
    assert (await issuer.authenticate(token)).sub
    with pytest.raises(DPoPAuthError) as caught:
        await issuer.authenticate(
            token, dpop=proof(key, clock, USERINFO, method="GET", access_token=token)
        )
    assert caught.value.code == "invalid_token"


async def test_protected_endpoint_nonce(clock: FakeClock, key: JWK) -> None:
    issuer = await open_issuer(clock, nonce=True)
    try:
        nonce = issuer.dpop.nonce()
        token = (await login(issuer, proof(key, clock, LOGIN, nonce=nonce))).access_token
        with pytest.raises(DPoPAuthError) as caught:
            await issuer.authenticate(
                token, dpop=proof(key, clock, USERINFO, method="GET", access_token=token)
            )
        assert caught.value.code == "use_dpop_nonce"
        assert caught.value.nonce == nonce
        await issuer.authenticate(
            token,
            dpop=proof(key, clock, USERINFO, method="GET", access_token=token, nonce=nonce),
        )
    finally:
        await issuer.close()


async def test_logout_all_denies_bound_tokens(issuer: Issuer, key: JWK, clock: FakeClock) -> None:
    pair = await login(issuer, proof(key, clock, LOGIN))
    claims = await issuer.authenticate(
        pair.access_token,
        dpop=proof(key, clock, USERINFO, method="GET", access_token=pair.access_token),
    )
    assert await issuer.logout_all(user_id=claims.sub) == 1
    with pytest.raises(AuthError) as caught:
        await issuer.authenticate(
            pair.access_token,
            dpop=proof(key, clock, USERINFO, method="GET", access_token=pair.access_token),
        )
    assert caught.value.code == "invalid_token"
    events = await issuer.revocation_events()
    assert [(e.kind, e.value) for e in events] == [("sid", pair.session_id)]


# ---- registered clients ------------------------------------------------------------------


async def _service(issuer: Issuer, mode: str) -> tuple[Any, str]:
    new = await issuer.clients.create(
        name=f"svc-{mode}", audiences=("https://api.example",), scopes=("read",), dpop=mode
    )
    assert new.client.dpop == mode
    assert new.client.to_dict()["dpop"] == mode
    assert new.client_secret is not None
    client = await issuer.clients.authenticate(
        PresentedClient(
            method="client_secret_basic", client_id=f"svc-{mode}", secret=new.client_secret
        )
    )
    return client, new.client_secret


async def test_client_credentials_bound_introspected_and_revoked(
    issuer: Issuer, key: JWK, clock: FakeClock
) -> None:
    client, _ = await _service(issuer, "optional")
    issued = await issuer.clients.client_credentials(client=client, dpop=proof(key, clock, TOKEN))
    assert issued.token_type == "DPoP"
    assert cnf(issued.access_token) == {"jkt": key.thumbprint()}
    seen = await issuer.clients.introspect(client=client, token=issued.access_token)
    assert seen["active"] is True
    assert seen["token_type"] == "DPoP"
    assert seen["cnf"] == {"jkt": key.thumbprint()}
    bearer = await issuer.clients.client_credentials(client=client)
    assert bearer.token_type == "Bearer"
    seen = await issuer.clients.introspect(client=client, token=bearer.access_token)
    assert (seen["token_type"], "cnf" in seen) == ("Bearer", False)
    await issuer.clients.revoke(client=client, token=issued.access_token)
    assert await issuer.clients.introspect(client=client, token=issued.access_token) == {
        "active": False
    }
    jti = jwt.peek(issued.access_token).claims["jti"]
    assert ("jti", jti) in [(e.kind, e.value) for e in await issuer.revocation_events()]


async def test_client_required_and_off_modes(issuer: Issuer, key: JWK, clock: FakeClock) -> None:
    required, _ = await _service(issuer, "required")
    with pytest.raises(DPoPProofError) as caught:
        await issuer.clients.client_credentials(client=required)
    assert caught.value.error == "invalid_dpop_proof"
    bound = await issuer.clients.client_credentials(client=required, dpop=proof(key, clock, TOKEN))
    assert bound.token_type == "DPoP"
    off, _ = await _service(issuer, "off")
    ignored = await issuer.clients.client_credentials(client=off, dpop=proof(key, clock, TOKEN))
    assert ignored.token_type == "Bearer"
    assert cnf(ignored.access_token) is None


async def test_token_exchange_binds_to_the_exchanging_clients_key(
    issuer: Issuer, key: JWK, other_key: JWK, clock: FakeClock
) -> None:
    new = await issuer.clients.create(
        name="svc-x",
        grant_types=("urn:ietf:params:oauth:grant-type:token-exchange",),
        audiences=("https://api.example",),
    )
    assert new.client_secret is not None
    client = await issuer.clients.authenticate(
        PresentedClient(method="client_secret_basic", client_id="svc-x", secret=new.client_secret)
    )
    user_token = (await login(issuer, proof(key, clock, LOGIN))).access_token
    issued = await issuer.clients.exchange(
        client=client,
        subject_token=user_token,
        subject_token_type="urn:ietf:params:oauth:token-type:access_token",
        dpop=proof(other_key, clock, TOKEN),
    )
    assert issued.token_type == "DPoP"
    assert cnf(issued.access_token) == {"jkt": other_key.thumbprint()}
    plain = await issuer.clients.exchange(
        client=client,
        subject_token=user_token,
        subject_token_type="urn:ietf:params:oauth:token-type:access_token",
    )
    assert plain.token_type == "Bearer"
    assert cnf(plain.access_token) is None


async def test_bad_dpop_mode_refused(issuer: Issuer) -> None:
    with pytest.raises(AuthError) as caught:
        await issuer.clients.create(name="svc-bad", dpop="sometimes")
    assert caught.value.code == "invalid_client_metadata"


# ---- discovery and configuration ---------------------------------------------------------


async def test_discovery_announces_dpop_algorithms(clock: FakeClock) -> None:
    issuer = await open_issuer(clock, algorithms=("ES256", "EdDSA"))
    try:
        metadata = issuer.metadata()
        assert metadata["dpop_signing_alg_values_supported"] == ["ES256", "EdDSA"]
        assert "cnf" in metadata["claims_supported"]
    finally:
        await issuer.close()


@pytest.mark.parametrize(
    "changes",
    [
        {"algorithms": ("HS256",)},
        {"algorithms": ("none",)},
        {"algorithms": ()},
        {"algorithms": ("XX999",)},
        {"nonce_period": 5},
        {"max_age": 0},
        {"leeway": 301},
        {"first_party": "sometimes"},
    ],
)
def test_bad_dpop_config_refused(changes: dict[str, Any]) -> None:
    with pytest.raises((ValueError, TypeError)):
        DPoPConfig(**changes)


def test_dpop_config_is_part_of_the_issuer_config() -> None:
    config = make_config()
    assert config.dpop == DPoPConfig()
    assert dataclasses.replace(config, dpop=DPoPConfig(nonce=True)).dpop.nonce


async def test_login_client_modes_govern_its_sessions(
    issuer: Issuer, key: JWK, clock: FakeClock
) -> None:
    for mode in ("required", "off"):
        await issuer.clients.create(
            name=f"spa-{mode}", auth_method="none", grant_types=("refresh_token",), dpop=mode
        )

    async def login_as(client_id: str, dpop: DPoPRequest | None = None) -> TokenPair:
        return await issuer.login(
            username="alice", password="correct horse", client_id=client_id, dpop=dpop
        )

    with pytest.raises(DPoPProofError) as caught:
        await login_as("spa-required")
    assert caught.value.error == "invalid_dpop_proof"
    bound = await login_as("spa-required", proof(key, clock, LOGIN))
    assert bound.token_type == "DPoP"
    with pytest.raises(DPoPProofError):
        await issuer.refresh(refresh_token=bound.refresh_token, client_id="spa-required")
    # an unbound session of a required client cannot exist; an off client ignores proofs
    ignored = await login_as("spa-off", proof(key, clock, LOGIN))
    assert ignored.token_type == "Bearer"
    renewed = await issuer.refresh(
        refresh_token=ignored.refresh_token, client_id="spa-off", dpop=proof(key, clock, REFRESH)
    )
    assert renewed.token_type == "Bearer"
    assert cnf(renewed.access_token) is None

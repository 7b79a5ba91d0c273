"""Access tokens (RFC 9068), signing algorithms, the key lifecycle and its schedule,
keys encrypted at rest (S27), discovery."""

from __future__ import annotations

import json

import jwt as pyjwt
import pytest

from contract.support import MASTER_KEY, CountingHasher, FakeClock, make_config
from tokensmith.issuer import AuthError, Issuer, TokenPair
from tokensmith.issuer.keys import SIGNING_GRACE, KeyCipher
from tokensmith.jose import JWK, jwt
from tokensmith.store import Stores

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"


async def login(issuer: Issuer, username: str = "alice") -> TokenPair:
    if username not in {u.username for u in await issuer.list_users()}:
        await issuer.register(username=username, password=PASSWORD)
    return await issuer.login(username=username, password=PASSWORD)


async def open_issuer(stores: Stores, clock: FakeClock, **config: object) -> Issuer:
    return await Issuer.open(
        make_config(**config),
        stores,
        master_key=MASTER_KEY,
        clock=clock,
        hasher=CountingHasher(),
    )


# ---- access tokens ---------------------------------------------------------------------


async def test_rfc9068_access_token_header_and_claims(stores: Stores, clock: FakeClock) -> None:
    issuer = await open_issuer(
        stores, clock, audience=("api", "billing"), extra_claims={"tenant": "acme"}
    )
    pair = await login(issuer)
    token = jwt.peek(pair.access_token)
    current = next(k for k in await issuer.list_keys() if k.state == "current")
    assert token.header == {"alg": "ES256", "typ": "at+jwt", "kid": current.kid}
    claims = token.claims
    user = (await issuer.list_users())[0]
    assert claims["iss"] == "http://127.0.0.1:8000"
    assert claims["sub"] == user.id
    assert claims["aud"] == ["api", "billing"]
    assert claims["iat"] == claims["nbf"] == int(clock.now)
    assert claims["exp"] - claims["iat"] == 900
    assert claims["client_id"] == "first-party"
    assert claims["scope"] == "openid profile"
    assert claims["sid"] == pair.session_id
    assert claims["roles"] == []
    assert claims["tenant"] == "acme"
    assert len(claims["jti"]) >= 16
    assert (pair.token_type, pair.expires_in) == ("Bearer", 900)
    await issuer.close()


async def test_tokens_verify_with_pyjwt_against_the_published_jwks(
    issuer: Issuer, clock: FakeClock
) -> None:
    pair = await login(issuer)
    jwks = pyjwt.PyJWKSet.from_dict(issuer.jwks())
    kid = jwt.peek(pair.access_token).header["kid"]
    key = next(k for k in jwks.keys if k.key_id == kid)
    claims = pyjwt.decode(
        pair.access_token,
        key.key,
        algorithms=["ES256"],
        audience="http://127.0.0.1:8000",
        issuer="http://127.0.0.1:8000",
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["sid"] == pair.session_id


@pytest.mark.parametrize("alg", ["RS256", "PS256", "EdDSA", "ES384"])
async def test_signing_algorithm_by_setting(stores: Stores, clock: FakeClock, alg: str) -> None:
    issuer = await open_issuer(stores, clock, signing_alg=alg)
    pair = await login(issuer)
    assert jwt.peek(pair.access_token).header["alg"] == alg
    assert {k["alg"] for k in issuer.jwks()["keys"]} == {alg}
    assert all("d" not in k for k in issuer.jwks()["keys"])
    await issuer.authenticate(pair.access_token)
    await issuer.close()


async def test_hs256_keys_are_never_published(stores: Stores, clock: FakeClock) -> None:
    issuer = await open_issuer(stores, clock, signing_alg="HS256")
    pair = await login(issuer)
    assert jwt.peek(pair.access_token).header["alg"] == "HS256"
    assert issuer.jwks() == {"keys": []}
    claims = await issuer.authenticate(pair.access_token)
    assert claims.sid == pair.session_id
    await issuer.close()


async def test_authenticate_refuses_foreign_and_mistyped_tokens(
    issuer: Issuer, clock: FakeClock
) -> None:
    pair = await login(issuer)
    claims = jwt.peek(pair.access_token).claims
    foreign = JWK.generate("ES256", kid=jwt.peek(pair.access_token).header["kid"])
    forged = jwt.encode(claims, foreign, typ="at+jwt", header={"kid": foreign.kid})
    ours = next(k for k in await issuer.list_keys() if k.state == "current")
    signing = issuer._keys.signing_key
    assert signing.kid == ours.kid
    plain_jwt = jwt.encode(claims, signing, typ="JWT", header={"kid": signing.kid})
    other_aud = jwt.encode(
        {**claims, "aud": "elsewhere"}, signing, typ="at+jwt", header={"kid": signing.kid}
    )
    for token in (forged, plain_jwt, other_aud, "not a token", pair.access_token + "x"):
        with pytest.raises(AuthError) as caught:
            await issuer.authenticate(token)
        assert caught.value.code == "invalid_token"


# ---- key lifecycle ----------------------------------------------------------------------


async def test_first_start_makes_a_current_and_a_published_next_key(issuer: Issuer) -> None:
    keys = {k.state: k for k in await issuer.list_keys()}
    assert set(keys) == {"current", "next"}
    assert {k["kid"] for k in issuer.jwks()["keys"]} == {keys["current"].kid, keys["next"].kid}
    assert all(k.published for k in keys.values())
    assert issuer.jwks_max_age() == 3600


async def test_key_rotation_schedule(issuer: Issuer, clock: FakeClock) -> None:
    config = issuer.config
    first = {k.state: k.kid for k in await issuer.list_keys()}
    clock.advance(config.key_rotation - 1)
    await issuer.maintain_keys()
    assert {k.state: k.kid for k in await issuer.list_keys()} == first
    before = await login(issuer)
    clock.advance(1)
    await issuer.maintain_keys()
    states = {k.kid: k.state for k in await issuer.list_keys()}
    assert states[first["next"]] == "current"
    assert states[first["current"]] == "previous"
    assert sorted(states.values()) == ["current", "next", "previous"]
    after = await issuer.login(username="alice", password=PASSWORD)
    assert jwt.peek(after.access_token).header["kid"] == first["next"]
    # a token signed by the previous key still verifies until it expires
    await issuer.authenticate(before.access_token)
    assert first["current"] in {k["kid"] for k in issuer.jwks()["keys"]}
    events = await issuer.audit_events(kind="key_rotated")
    assert any(first["next"] in str(e.details.get("action")) for e in events)


async def test_next_key_published_one_cache_lifetime_before_it_signs(
    issuer: Issuer, clock: FakeClock
) -> None:
    """Over several rotations: the first time each kid appears in the JWKS and the first
    time it signs are at least jwks_max_age apart."""
    first_published: dict[str, float] = {}
    first_signed: dict[str, float] = {}
    await login(issuer)
    step = 6 * 3600
    for _ in range(int(4 * issuer.config.key_rotation / step)):
        await issuer.maintain_keys()
        for key in issuer.jwks()["keys"]:
            first_published.setdefault(key["kid"], clock.now)
        pair = await issuer.login(username="alice", password=PASSWORD)
        kid = jwt.peek(pair.access_token).header["kid"]
        first_signed.setdefault(kid, clock.now)
        clock.advance(step)
    rotated = [kid for kid in first_signed if first_signed[kid] > min(first_signed.values())]
    assert len(rotated) >= 3
    for kid in rotated:
        assert first_signed[kid] - first_published[kid] >= issuer.config.jwks_max_age


async def test_old_keys_unpublished_and_wiped_once_their_tokens_expired(
    issuer: Issuer, stores: Stores, clock: FakeClock
) -> None:
    old = next(k for k in await issuer.list_keys() if k.state == "current").kid
    clock.advance(issuer.config.key_rotation)
    token = (await login(issuer)).access_token  # signed by the old key just before rotation
    await issuer.maintain_keys()
    assert jwt.peek(token).header["kid"] == old
    clock.advance(issuer.config.access_ttl - 1)
    await issuer.maintain_keys()
    assert old in {k["kid"] for k in issuer.jwks()["keys"]}
    await issuer.authenticate(token)
    clock.advance(1 + SIGNING_GRACE - 1)
    await issuer.maintain_keys()
    assert old in {k["kid"] for k in issuer.jwks()["keys"]}
    clock.advance(1)
    await issuer.maintain_keys()
    assert old not in {k["kid"] for k in issuer.jwks()["keys"]}
    record = await stores.keys.get(old)
    assert record is not None
    assert record.private_jwk == b""
    info = {k.kid: k for k in await issuer.list_keys()}[old]
    assert not info.published


async def test_manual_rotation_waits_for_caches_unless_forced(
    issuer: Issuer, clock: FakeClock
) -> None:
    keys = {k.state: k.kid for k in await issuer.list_keys()}
    clock.advance(issuer.config.jwks_max_age - 10)
    with pytest.raises(AuthError) as early:
        await issuer.rotate_keys()
    assert early.value.code == "key_state"
    clock.advance(10)
    current = await issuer.rotate_keys()
    assert current.kid == keys["next"]
    # the new next key is brand new: only a forced rotation takes it at once
    newest = await issuer.rotate_keys(force=True)
    assert newest.kid not in keys.values()
    states = sorted(k.state for k in await issuer.list_keys())
    assert states == ["current", "next", "previous", "retired"]


async def test_retire_key_rules(issuer: Issuer) -> None:
    keys = {k.state: k.kid for k in await issuer.list_keys()}
    with pytest.raises(AuthError) as current:
        await issuer.retire_key(kid=keys["current"])
    assert current.value.code == "key_state"
    with pytest.raises(AuthError) as missing:
        await issuer.retire_key(kid="nope")
    assert missing.value.code == "key_not_found"
    await issuer.retire_key(kid=keys["next"])
    after = {k.kid: k for k in await issuer.list_keys()}
    assert after[keys["next"]].state == "retired"
    assert keys["next"] not in {k["kid"] for k in issuer.jwks()["keys"]}
    # a new next key takes its place
    assert sorted(k.state for k in after.values()) == ["current", "next", "retired"]


async def test_s27_private_keys_encrypted_at_rest(issuer: Issuer, stores: Stores) -> None:
    records = await stores.keys.list()
    assert records
    cipher = KeyCipher(MASTER_KEY)
    for record in records:
        private = json.loads(cipher.decrypt(record.kid, record.private_jwk))
        assert private["d"].encode() not in record.private_jwk
        assert "d" not in json.loads(record.public_jwk)
        with pytest.raises(Exception):  # noqa: PT011 - AES-GCM refuses a wrong key
            KeyCipher(bytes(32)).decrypt(record.kid, record.private_jwk)
        with pytest.raises(Exception):  # noqa: PT011 - the kid is bound to the blob
            cipher.decrypt(record.kid + "x", record.private_jwk)


async def test_restart_with_the_same_store_keeps_keys(stores: Stores, clock: FakeClock) -> None:
    one = await open_issuer(stores, clock)
    pair = await login(one)
    kids = {k.kid for k in await one.list_keys()}
    await one.close()
    two = await open_issuer(stores, clock)
    assert {k.kid for k in await two.list_keys()} == kids
    await two.authenticate(pair.access_token)
    await two.refresh(refresh_token=pair.refresh_token)
    await two.close()


async def test_master_key_must_be_32_bytes(stores: Stores, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        await Issuer.open(
            make_config(), stores, master_key=b"short", clock=clock, hasher=CountingHasher()
        )


async def test_discovery_metadata(issuer: Issuer) -> None:
    meta = issuer.metadata("http://localhost:9000/")
    assert meta["issuer"] == "http://127.0.0.1:8000"
    assert meta["jwks_uri"] == "http://localhost:9000/.well-known/jwks.json"
    assert meta["token_endpoint"] == "http://localhost:9000/oauth/token"
    assert meta["revocation_endpoint"] == "http://localhost:9000/oauth/revoke"
    assert meta["grant_types_supported"] == [
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    ]
    assert meta["introspection_endpoint"] == "http://localhost:9000/oauth/introspect"
    assert "private_key_jwt" in meta["token_endpoint_auth_methods_supported"]
    assert meta["id_token_signing_alg_values_supported"] == ["ES256"]
    assert issuer.metadata()["userinfo_endpoint"] == "http://127.0.0.1:8000/userinfo"


async def test_changing_the_algorithm_replaces_the_next_key(
    stores: Stores, clock: FakeClock
) -> None:
    first = await open_issuer(stores, clock)
    old = {k.state: k for k in await first.list_keys()}
    await first.close()
    second = await open_issuer(stores, clock, signing_alg="RS256")
    keys = await second.list_keys()
    by_state = {k.state: k for k in keys if k.state in ("current", "next")}
    # the current key signs on (ES256) until the schedule rotates it
    assert by_state["current"].kid == old["current"].kid
    assert by_state["next"].alg == "RS256"
    retired = [k for k in keys if k.state == "retired"]
    assert [k.kid for k in retired] == [old["next"].kid]
    assert not retired[0].published
    clock.advance(second.config.key_rotation)
    await second.maintain_keys()
    pair = await login(second)
    assert jwt.peek(pair.access_token).header["alg"] == "RS256"
    await second.authenticate(pair.access_token)
    await second.close()


async def test_a_process_that_has_not_reloaded_keys_signs_verifiable_tokens(
    stores: Stores, clock: FakeClock
) -> None:
    """Process one rotates; process two signs with the demoted key until its next
    maintenance. Those tokens verify everywhere for their whole life."""
    one = await open_issuer(stores, clock)
    two = await open_issuer(stores, clock)
    old = next(k.kid for k in await one.list_keys() if k.state == "current")
    await one.register(username="alice", password=PASSWORD)
    clock.advance(one.config.key_rotation)
    await one.maintain_keys()
    clock.advance(59)  # two's next maintenance is due in a second
    late = await two.login(username="alice", password=PASSWORD)
    assert jwt.peek(late.access_token).header["kid"] == old
    clock.advance(one.config.access_ttl - 1)
    await one.maintain_keys()
    assert old in {k["kid"] for k in one.jwks()["keys"]}
    await one.authenticate(late.access_token)
    await two.maintain_keys()
    fresh = await two.login(username="alice", password=PASSWORD)
    assert jwt.peek(fresh.access_token).header["kid"] != old
    await one.close()
    await two.close()

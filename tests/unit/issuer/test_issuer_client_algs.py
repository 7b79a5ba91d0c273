"""Per-client signing algorithms (issue 6): one key lifecycle per algorithm in use, tokens
signed with the client's algorithm, every algorithm's public keys in the JWKS, HMAC
refused per client. Memory stores, a fake clock."""

from __future__ import annotations

import json

import jwt as pyjwt
import pytest
from jwcrypto import jwk as jwcrypto_jwk
from jwcrypto import jwt as jwcrypto_jwt

from contract.support import MASTER_KEY, CountingHasher, FakeClock, make_config
from tokensmith.issuer import AuthError, Issuer, OAuthError
from tokensmith.issuer.keys import SIGNING_GRACE
from tokensmith.jose import jwt
from tokensmith.store import Stores

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse battery"


async def open_issuer(stores: Stores, clock: FakeClock, **config: object) -> Issuer:
    config.setdefault("signing_algs", ("EdDSA", "RS256"))
    return await Issuer.open(
        make_config(**config), stores, master_key=MASTER_KEY, clock=clock, hasher=CountingHasher()
    )


async def add_service(issuer: Issuer, name: str, alg: str | None) -> str:
    await issuer.clients.create(
        name=name, audiences=(f"{name}-api",), signing_alg=alg, auth_method="client_secret_post"
    )
    return name


async def mint(issuer: Issuer, stores: Stores, name: str) -> str:
    client = await stores.clients.get(name)
    assert client is not None
    return (await issuer.clients.client_credentials(client=client)).access_token


def lanes(keys: list[object]) -> dict[tuple[str, str], str]:
    """(alg, state) -> kid of the next and current keys."""
    out: dict[tuple[str, str], str] = {}
    for key in keys:
        state, alg, kid = key.state, key.alg, key.kid  # type: ignore[attr-defined]
        if state in ("next", "current"):
            assert (alg, state) not in out
            out[(alg, state)] = kid
    return out


async def test_a_client_gets_tokens_of_its_algorithm_and_others_stay_es256(
    stores: Stores, clock: FakeClock
) -> None:
    issuer = await open_issuer(stores, clock)
    assert {k.alg for k in await issuer.list_keys()} == {"ES256"}  # no client names EdDSA yet
    await add_service(issuer, "edge", "EdDSA")
    await add_service(issuer, "plain", None)
    edge, plain = await mint(issuer, stores, "edge"), await mint(issuer, stores, "plain")
    keys = lanes(await issuer.list_keys())
    assert jwt.peek(edge).header == {
        "alg": "EdDSA",
        "typ": "at+jwt",
        "kid": keys[("EdDSA", "current")],
    }
    assert jwt.peek(plain).header["alg"] == "ES256"
    assert jwt.peek(plain).header["kid"] == keys[("ES256", "current")]
    await issuer.register(username="alice", password=PASSWORD)
    pair = await issuer.login(username="alice", password=PASSWORD)
    assert jwt.peek(pair.access_token).header["alg"] == "ES256"
    # both verify against the published JWKS, with other libraries too
    document = issuer.jwks()
    published = {k["kid"]: k for k in document["keys"]}
    assert {published[kid]["alg"] for kid in keys.values()} == {"ES256", "EdDSA"}
    edge_key = published[keys[("EdDSA", "current")]]
    assert edge_key["kty"] == "OKP"
    claims = pyjwt.decode(
        edge,
        pyjwt.PyJWK(edge_key).key,
        algorithms=["EdDSA"],
        audience="edge-api",
        issuer=issuer.config.issuer,
        # the fake clock is not the wall clock
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )
    assert claims["client_id"] == "edge"
    keyset = jwcrypto_jwk.JWKSet.from_json(json.dumps(document))
    checked = jwcrypto_jwt.JWT(jwt=plain, key=keyset, algs=["ES256"], check_claims=False)
    assert json.loads(checked.claims)["client_id"] == "plain"
    # and our own introspection verifies both
    assert (await issuer.clients.verify_token(edge))["sub"] == "edge"
    await issuer.close()


async def test_an_algorithm_outside_the_allowed_set_is_refused(
    stores: Stores, clock: FakeClock
) -> None:
    issuer = await open_issuer(stores, clock)
    for alg in ("PS256", "HS256", "none", "es256"):
        with pytest.raises(AuthError) as caught:
            await add_service(issuer, "svc", alg)
        assert caught.value.code == "invalid_client_metadata"
        assert "ES256, EdDSA, RS256" in caught.value.message
        assert "TOKENSMITH_SIGNING_ALGS" in caught.value.message
    assert await stores.clients.get("svc") is None
    # the server's own algorithm may be named (it pins the client to it)
    await add_service(issuer, "pinned", "ES256")
    assert jwt.peek(await mint(issuer, stores, "pinned")).header["alg"] == "ES256"
    await issuer.close()


@pytest.mark.parametrize("alg", ["HS256", "HS512"])
def test_hmac_is_never_a_per_client_algorithm(alg: str) -> None:
    with pytest.raises(ValueError, match="shared with every service"):
        make_config(signing_algs=(alg,))
    with pytest.raises(ValueError, match="unknown algorithm"):
        make_config(signing_algs=("XS1",))


async def test_each_algorithm_rotates_on_its_own(stores: Stores, clock: FakeClock) -> None:
    issuer = await open_issuer(stores, clock)
    await add_service(issuer, "edge", "EdDSA")
    before = lanes(await issuer.list_keys())
    assert set(before) == {
        ("ES256", "current"),
        ("ES256", "next"),
        ("EdDSA", "current"),
        ("EdDSA", "next"),
    }
    # by hand: only the named algorithm moves
    clock.advance(issuer.config.jwks_max_age)
    rotated = await issuer.rotate_keys(alg="EdDSA")
    assert (rotated.alg, rotated.kid) == ("EdDSA", before[("EdDSA", "next")])
    after = lanes(await issuer.list_keys())
    assert after[("ES256", "current")] == before[("ES256", "current")]
    assert after[("EdDSA", "current")] == before[("EdDSA", "next")]
    states = {k.kid: k.state for k in await issuer.list_keys()}
    assert states[before[("EdDSA", "current")]] == "previous"
    assert jwt.peek(await mint(issuer, stores, "edge")).header["kid"] == rotated.kid
    with pytest.raises(AuthError) as caught:
        await issuer.rotate_keys(alg="RS256")  # allowed, but no client uses it
    assert caught.value.code == "key_state"
    # on schedule: every lane whose current key is old enough
    clock.advance(issuer.config.key_rotation)
    await issuer.maintain_keys()
    later = lanes(await issuer.list_keys())
    assert later[("ES256", "current")] == before[("ES256", "next")]
    assert later[("EdDSA", "current")] == after[("EdDSA", "next")]
    # the old EdDSA key stays published until its last token expires, then is wiped
    old = before[("EdDSA", "current")]
    assert old not in {k["kid"] for k in issuer.jwks()["keys"]}
    await issuer.close()


async def test_an_algorithm_no_client_uses_any_more_winds_down(
    stores: Stores, clock: FakeClock
) -> None:
    issuer = await open_issuer(stores, clock)
    await add_service(issuer, "edge", "EdDSA")
    token = await mint(issuer, stores, "edge")
    keys = lanes(await issuer.list_keys())
    await issuer.clients.disable(client_id="edge")
    await issuer.maintain_keys()
    states = {k.kid: k for k in await issuer.list_keys()}
    assert states[keys[("EdDSA", "next")]].state == "retired"
    demoted = states[keys[("EdDSA", "current")]]
    assert demoted.state == "previous"
    assert demoted.publish_until == clock.now + issuer.config.access_ttl + SIGNING_GRACE
    published = {k["kid"] for k in issuer.jwks()["keys"]}
    assert keys[("EdDSA", "current")] in published
    assert keys[("EdDSA", "next")] not in published
    # tokens already issued keep verifying (the deny list is what refuses this one)
    with pytest.raises(AuthError, match="revoked"):
        await issuer.clients.verify_token(token)
    clock.advance(issuer.config.access_ttl + SIGNING_GRACE)
    await issuer.maintain_keys()
    assert keys[("EdDSA", "current")] not in {k["kid"] for k in issuer.jwks()["keys"]}
    assert {k.alg for k in await issuer.list_keys() if k.state in ("next", "current")} == {"ES256"}
    # enabling it again starts a fresh EdDSA lifecycle
    await issuer.clients.enable(client_id="edge")
    fresh = await mint(issuer, stores, "edge")
    assert jwt.peek(fresh).header["alg"] == "EdDSA"
    assert jwt.peek(fresh).header["kid"] not in keys.values()
    await issuer.close()


async def test_another_process_signs_for_a_client_it_has_not_seen(
    stores: Stores, clock: FakeClock
) -> None:
    one = await open_issuer(stores, clock)
    two = await open_issuer(stores, clock)
    await add_service(one, "edge", "EdDSA")
    token = await mint(two, stores, "edge")  # two has not run maintenance since
    assert jwt.peek(token).header["alg"] == "EdDSA"
    assert jwt.peek(token).header["kid"] == lanes(await one.list_keys())[("EdDSA", "current")]
    await two.maintain_keys()
    await one.maintain_keys()
    assert len([k for k in await one.list_keys() if k.alg == "EdDSA"]) == 2
    await one.clients.verify_token(token)
    await one.close()
    await two.close()


async def test_restart_keeps_every_algorithms_keys(stores: Stores, clock: FakeClock) -> None:
    first = await open_issuer(stores, clock)
    await add_service(first, "edge", "EdDSA")
    token = await mint(first, stores, "edge")
    keys = lanes(await first.list_keys())
    await first.close()
    second = await open_issuer(stores, clock)
    assert lanes(await second.list_keys()) == keys
    await second.clients.verify_token(token)
    assert jwt.peek(await mint(second, stores, "edge")).header["kid"] == keys[("EdDSA", "current")]
    await second.close()


async def test_a_withdrawn_algorithm_is_a_clear_error(stores: Stores, clock: FakeClock) -> None:
    first = await open_issuer(stores, clock)
    await add_service(first, "edge", "EdDSA")
    await first.close()
    second = await open_issuer(stores, clock, signing_algs=())
    client = await stores.clients.get("edge")
    assert client is not None
    with pytest.raises(OAuthError) as caught:
        await second.clients.client_credentials(client=client)
    assert caught.value.error == "server_error"
    assert "EdDSA" in caught.value.description
    # its keys wind down like those of an unused algorithm
    assert {k.alg for k in await second.list_keys() if k.state in ("next", "current")} == {"ES256"}
    await second.close()


async def test_discovery_lists_every_allowed_algorithm(stores: Stores, clock: FakeClock) -> None:
    issuer = await open_issuer(stores, clock)
    meta = issuer.metadata()
    assert meta["access_token_signing_alg_values_supported"] == ["ES256", "EdDSA", "RS256"]
    assert meta["id_token_signing_alg_values_supported"] == ["ES256"]
    await issuer.close()

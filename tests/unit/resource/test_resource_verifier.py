"""AccessTokenVerifier's policy with static keys and a fixed clock."""

from __future__ import annotations

import asyncio
import hmac
import json

import pytest
from resource_helpers import AUDIENCE, ISSUER, Clock, make_token

from tokensmith.jose import JWK
from tokensmith.jose.encoding import b64url_encode
from tokensmith.jose.errors import (
    AlgorithmNotAllowedError,
    ExpiredError,
    InvalidAudienceError,
    InvalidIssuerError,
    InvalidSignatureError,
    InvalidTypeError,
    KeyMismatchError,
    KeyNotFoundError,
    MalformedError,
    UnsupportedError,
)
from tokensmith.resource import (
    AccessTokenVerifier,
    InsufficientScopeError,
    SenderConstrainedError,
    VerifierOptions,
    check_access,
)

NOW = 1_800_000_000.0


def _verifier(keys: object, **options: object) -> AccessTokenVerifier:
    options.setdefault("now", Clock(NOW))
    return AccessTokenVerifier(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=keys,  # type: ignore[arg-type]
        options=VerifierOptions(**options),  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def es256() -> JWK:
    return JWK.generate("ES256", kid="es")


def test_a_valid_token_returns_claims_scopes_and_roles(es256: JWK) -> None:
    verifier = _verifier(es256)
    token = make_token(es256, now=NOW, scope="orders:read orders:write", roles=["admin", "ops"])
    result = verifier.verify(token)
    assert result.claims["sub"] == "user-1"
    assert result.subject == "user-1"
    assert result.client_id == "first-party"
    assert result.scopes == {"orders:read", "orders:write"}
    assert result.roles == {"admin", "ops"}
    assert result.key.kid == "es"
    assert not result.key.is_private
    assert verifier.outcomes["ok"] == 1


def test_verify_async_gives_the_same_answer(es256: JWK) -> None:
    verifier = _verifier(es256)
    token = make_token(es256, now=NOW)
    assert asyncio.run(verifier.verify_async(token)).claims == verifier.verify(token).claims


def _forge(header: dict[str, object], claims: dict[str, object], signature: bytes) -> str:
    head = b64url_encode(json.dumps(header).encode())
    body = b64url_encode(json.dumps(claims).encode())
    return f"{head}.{body}.{b64url_encode(signature)}"


def _claims() -> dict[str, object]:
    return {"iss": ISSUER, "aud": AUDIENCE, "sub": "u", "iat": int(NOW), "exp": int(NOW) + 60}


@pytest.mark.parametrize("name", ["none", "None", "NONE", "nOnE"])
@pytest.mark.parametrize("signature", [b"", b"junk"])
def test_s1_alg_none_rejected(es256: JWK, name: str, signature: bytes) -> None:
    token = _forge({"alg": name, "typ": "at+jwt", "kid": "es"}, _claims(), signature)
    with pytest.raises((AlgorithmNotAllowedError, UnsupportedError, MalformedError)):
        _verifier(es256).verify(token)


def test_s2_hmac_token_is_refused_when_no_secret_is_configured(es256: JWK) -> None:
    """The public key's bytes used as an HMAC secret never verify (S2)."""
    pem = es256.public().to_pem()
    pem_bytes = pem.encode() if isinstance(pem, str) else pem
    for kid_header in ({"kid": "es"}, {}):
        header = {"alg": "HS256", "typ": "at+jwt", **kid_header}
        head = b64url_encode(json.dumps(header).encode())
        body = b64url_encode(json.dumps(_claims()).encode())
        mac = hmac.digest(pem_bytes, f"{head}.{body}".encode(), "sha256")
        with pytest.raises((KeyMismatchError, KeyNotFoundError)):
            _verifier(es256).verify(f"{head}.{body}.{b64url_encode(mac)}")


def test_hmac_is_accepted_only_with_a_configured_secret() -> None:
    secret = JWK.from_secret(b"s" * 32, kid="shared")
    token = make_token(secret, now=NOW, alg="HS256")
    assert _verifier(secret).verify(token).key.kid == "shared"
    with pytest.raises(KeyMismatchError):
        _verifier(JWK.generate("ES256", kid="shared")).verify(token)


def test_algorithms_allow_list_is_applied(es256: JWK) -> None:
    token = make_token(es256, now=NOW)
    with pytest.raises(AlgorithmNotAllowedError):
        _verifier(es256, algorithms=["RS256"]).verify(token)
    assert _verifier(es256, algorithms=["ES256"]).verify(token).claims["sub"] == "user-1"


def test_default_algorithms_are_what_the_key_announces() -> None:
    """A key announcing RS256 never verifies PS256, though both are RSA (S19)."""
    rsa = JWK.generate("RS256", kid="r")
    assert rsa.alg == "RS256"
    unannounced = JWK({k: v for k, v in rsa.to_dict().items() if k != "alg"})
    pss = make_token(unannounced, now=NOW, alg="PS256")
    with pytest.raises(KeyMismatchError):
        _verifier(rsa).verify(pss)
    assert _verifier(unannounced).verify(pss).key.kid == "r"  # no alg announced: the family


def test_typ_at_jwt_is_required_by_default_and_jwt_can_be_allowed(es256: JWK) -> None:
    plain = make_token(es256, now=NOW, typ="JWT")
    untyped = make_token(es256, now=NOW, typ=None)
    with pytest.raises(InvalidTypeError):
        _verifier(es256).verify(plain)
    with pytest.raises(InvalidTypeError):
        _verifier(es256).verify(untyped)
    lenient = _verifier(es256, typ=("at+jwt", "JWT"))
    assert lenient.verify(plain).header["typ"] == "JWT"
    assert lenient.verify(make_token(es256, now=NOW, typ="application/at+jwt"))
    with pytest.raises(InvalidTypeError):
        lenient.verify(untyped)
    assert _verifier(es256, typ=None).verify(untyped).claims["sub"] == "user-1"


def test_issuer_audience_and_expiry_are_checked(es256: JWK) -> None:
    verifier = _verifier(es256)
    with pytest.raises(InvalidIssuerError):
        verifier.verify(make_token(es256, now=NOW, iss="https://evil.example"))
    with pytest.raises(InvalidAudienceError):
        verifier.verify(make_token(es256, now=NOW, aud="another-api"))
    with pytest.raises(ExpiredError):
        verifier.verify(make_token(es256, now=NOW - 1000, ttl=600))


def test_a_cached_token_still_expires_on_time(es256: JWK) -> None:
    clock = Clock(NOW)
    verifier = _verifier(es256, now=clock, leeway=5)
    token = make_token(es256, now=NOW, ttl=60)
    verifier.verify(token)
    verifier.verify(token)
    if verifier.cache is not None:
        assert verifier.cache.hits == 1
    clock.advance(64)
    verifier.verify(token)  # inside the leeway
    clock.advance(1)
    with pytest.raises(ExpiredError):
        verifier.verify(token)


def test_cache_off_verifies_every_time(es256: JWK) -> None:
    verifier = _verifier(es256, cache=False)
    token = make_token(es256, now=NOW)
    assert verifier.cache is None
    assert verifier.verify(token).claims == verifier.verify(token).claims


def test_the_cache_is_on_by_default_when_the_core_has_it(es256: JWK) -> None:
    from tokensmith.resource import verifier as module

    verifier = _verifier(es256)
    if module.VerifiedTokenCache is None:
        pytest.fail("tokensmith.jose.cache is not importable: the verified-token cache is missing")
    token = make_token(es256, now=NOW)
    verifier.verify(token)
    verifier.verify(token)
    assert (verifier.cache.misses, verifier.cache.hits) == (1, 1)


def test_tampered_and_malformed_tokens_are_refused_with_codes(es256: JWK) -> None:
    verifier = _verifier(es256)
    token = make_token(es256, now=NOW)
    head, _, sig = token.split(".")
    other = make_token(es256, now=NOW, sub="someone-else").split(".")[1]
    with pytest.raises(InvalidSignatureError):
        verifier.verify(f"{head}.{other}.{sig}")
    for junk in ("", "a.b", "a.b.c.d", "{}", token + "=", 12):
        with pytest.raises(MalformedError) as caught:
            verifier.verify(junk)  # type: ignore[arg-type]
        assert caught.value.code
    assert sum(verifier.outcomes.values()) == 7


def test_required_scopes_and_roles(es256: JWK) -> None:
    verifier = _verifier(es256, required_scopes=["orders:read"], required_roles=["staff"])
    ok = make_token(es256, now=NOW, scope="orders:read x", roles=["staff"])
    assert verifier.verify(ok).has_scopes("orders:read", "x")
    with pytest.raises(InsufficientScopeError, match="scope orders:read") as caught:
        verifier.verify(make_token(es256, now=NOW, scope="other", roles=["staff"]))
    assert caught.value.code == "insufficient_scope"
    with pytest.raises(InsufficientScopeError, match="role staff"):
        verifier.verify(make_token(es256, now=NOW, roles=["guest"]))


def test_scope_and_roles_claims_accept_strings_or_arrays_only(es256: JWK) -> None:
    verifier = _verifier(es256, scope_claim="scp", roles_claim="groups")
    result = verifier.verify(make_token(es256, now=NOW, scp=["a", "b", 3], groups="g1 g2"))
    assert result.scopes == {"a", "b"}
    assert result.roles == {"g1", "g2"}
    odd = verifier.verify(make_token(es256, now=NOW, scp={"a": 1}, groups=7))
    assert odd.scopes == odd.roles == frozenset()
    with pytest.raises(InsufficientScopeError):
        check_access(odd, scopes=["a"])


def test_static_private_keys_are_reduced_to_public_and_options_are_checked(es256: JWK) -> None:
    verifier = _verifier([es256])
    assert all(not k.is_private for k in verifier.key_set)  # type: ignore[union-attr]
    with pytest.raises(TypeError):
        VerifierOptions(typ="at+jwt")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        VerifierOptions(required_scopes="a b")
    with pytest.raises(ValueError, match="at least one"):
        _verifier([])
    with pytest.raises(ValueError, match="discovery needs one issuer"):
        AccessTokenVerifier(issuer=["a", "b"], audience="x")


def test_s24_a_dpop_bound_token_sent_as_bearer_is_refused(es256: JWK) -> None:
    bound = make_token(es256, now=NOW, cnf={"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"})
    verifier = _verifier(es256)
    for _ in range(2):  # a cached token too
        with pytest.raises(SenderConstrainedError) as caught:
            verifier.verify(bound)
        assert caught.value.code == "jwt_sender_constrained"

"""S17: empty keys and HMAC keys shorter than the hash output (RFC 7518 §3.2) are
refused for signing and for verifying."""

from __future__ import annotations

import pytest
from hostile import CLAIMS, POLICY, hmac_forge, rejected

from tokensmith.jose import JWK, JWKSet, jws, jwt

HS_ALGS = {"HS256": ("sha256", 32), "HS384": ("sha384", 48), "HS512": ("sha512", 64)}


@pytest.mark.parametrize("make", ["from_secret", "jwk dict", "jwk json"])
def test_s17_empty_key_refused(make: str) -> None:
    with rejected("jwk_weak"):
        if make == "from_secret":
            JWK.from_secret(b"")
        elif make == "jwk dict":
            JWK({"kty": "oct", "k": ""})
        else:
            JWK.from_json('{"kty":"oct","k":""}')


def test_s17_empty_key_refused_in_a_set() -> None:
    with rejected("jwks_invalid"):
        JWKSet.from_json('{"keys":[{"kty":"oct","k":"","kid":"a"}]}')


@pytest.mark.parametrize("alg", HS_ALGS)
@pytest.mark.parametrize("length", [1, 16, 31, "one short"])
def test_s17_short_key_refused_for_signing(alg: str, length: int | str) -> None:
    size = HS_ALGS[alg][1]
    n = size - 1 if length == "one short" else int(length)
    key = JWK.from_secret(b"k" * n)  # no alg: the check happens at use
    with rejected("jwk_weak"):
        jwt.encode(CLAIMS, key, alg=alg)
    with rejected("jwk_weak"):
        jws.sign(b"payload", key, alg=alg)
    with rejected("jwk_weak"):
        jws.sign_json(b"payload", [jws.Signer(key, alg)])
    # A key that names its algorithm is refused when built.
    with rejected("jwk_weak"):
        JWK.from_secret(b"k" * n, alg=alg)


@pytest.mark.parametrize("alg", HS_ALGS)
def test_s17_short_key_refused_for_verifying(alg: str) -> None:
    hash_name, size = HS_ALGS[alg]
    secret = b"k" * (size - 1)
    token = hmac_forge({"alg": alg, "typ": "JWT"}, CLAIMS, secret, hash_name)
    key = JWK.from_secret(secret)
    with rejected("jwk_weak"):
        jwt.decode(token, key, policy=POLICY)
    with rejected("jwk_weak"):
        jws.verify(token, key)
    # In a set the short key is never a candidate.
    with rejected("jwks_key_not_found"):
        jwt.decode(token, JWKSet([key]), policy=POLICY)


@pytest.mark.parametrize("alg", HS_ALGS)
def test_s17_key_of_exact_hash_length_accepted(alg: str) -> None:
    hash_name, size = HS_ALGS[alg]
    secret = bytes(range(size))
    key = JWK.from_secret(secret, alg=alg)
    token = jwt.encode(CLAIMS, key)
    assert token == hmac_forge({"alg": alg, "typ": "JWT"}, CLAIMS, secret, hash_name)
    assert jwt.decode(token, key, policy=POLICY).claims == CLAIMS


def test_s17_hs256_sized_key_too_short_for_hs512() -> None:
    key = JWK.from_secret(bytes(32))
    token = hmac_forge({"alg": "HS512"}, CLAIMS, bytes(32), "sha512")
    with rejected("jwk_weak"):
        jwt.decode(token, key, policy=POLICY)

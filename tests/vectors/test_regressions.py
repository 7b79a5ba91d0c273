"""Regression tests for core bugs the published vectors found (one test per bug)."""

from __future__ import annotations

import pytest

from tokensmith.jose import jws
from tokensmith.jose.errors import InvalidKeySetError, KeyMismatchError, WeakKeyError
from tokensmith.jose.jwk import JWK
from tokensmith.jose.jwkset import JWKSet

from ._data import cookbook, wycheproof


def _roca_public_key() -> dict[str, str]:
    (group,) = [
        g
        for g in wycheproof("json_web_key_test.json")["testGroups"]
        if g["comment"] == "jws_rsa_roca_key"
    ]
    key: dict[str, str] = group["public"]["keys"][0]
    return key


def test_regression_roca_vulnerable_rsa_key_accepted() -> None:
    """S18: an RSA modulus with the ROCA fingerprint (CVE-2017-15361) was imported and
    used (Wycheproof json_web_key tcId 7, json_web_crypto tcId 46). It is refused now,
    public or private, and a sound 2048-bit key of the same shape still imports."""
    with pytest.raises(WeakKeyError, match="ROCA"):
        JWK(_roca_public_key())
    sound = cookbook("jwk/3_3.rsa_public_key.json")
    assert JWK(sound).kty == "RSA"
    assert JWK.generate("RS256").kty == "RSA"


def test_regression_jwks_mixing_secret_and_public_keys_accepted() -> None:
    """S2/S19: a JWKS document holding an HS256 secret next to an EC public key was
    accepted and verified the HS256 token (Wycheproof json_web_key tcId 1, "MixedKeySet",
    json_web_crypto tcId 47). Such a document is refused as a whole now; the same secret
    alone, or two secrets together, still make a set."""
    (group,) = [
        g
        for g in wycheproof("json_web_key_test.json")["testGroups"]
        if g["comment"] == "jws_mixedSymmetryKeyset"
    ]
    mixed = group["private"]
    with pytest.raises(InvalidKeySetError, match="mix symmetric"):
        JWKSet.from_dict(mixed)
    secret_only = {"keys": [k for k in mixed["keys"] if k["kty"] == "oct"]}
    token = group["tests"][0]["jws"]
    assert jws.verify(token, JWKSet.from_dict(secret_only)).payload == b"foo"


@pytest.mark.parametrize("tc_id", [82, 104])
def test_regression_from_secret_refused_random_secret_starting_with_brace(tc_id: int) -> None:
    """S2 heuristics misfired: JWK.from_secret refused any secret whose first
    non-whitespace byte is "{" as a "JWK", which is 1 random key in 256 (Wycheproof
    hmac_sha256 tcId 82 and 104). Only a JSON object with "kty" is refused now."""
    (test,) = [
        t
        for g in wycheproof("hmac_sha256_test.json")["testGroups"]
        for t in g["tests"]
        if t["tcId"] == tc_id
    ]
    secret = bytes.fromhex(test["key"])
    assert secret.strip().startswith(b"{")
    key = JWK.from_secret(secret)
    assert key.private_key_object == secret
    with pytest.raises(KeyMismatchError):
        JWK.from_secret(b' {"kty": "oct", "k": "c2VjcmV0"}')

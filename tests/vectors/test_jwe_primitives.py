"""Wycheproof primitive vectors, run through the JWE building blocks tokensmith uses:
AES-GCM and AES-CBC-HMAC content encryption, AES key wrap, ECDH (P-256/384/521 with JWK
keys), RSA-OAEP (SHA-1 and SHA-256) and X25519 with JWK keys.

Where JWE is narrower than the primitive, the narrower profile wins and the test says so:
* AES-GCM: JWE fixes the IV at 96 bits (RFC 7518 §5.3), so the ``valid`` vectors with
  other IV sizes are refused by our content decryption, like the invalid ones.
* RSA-OAEP: JWE uses no OAEP label (RFC 7518 §4.3), so ``valid`` vectors encrypted with
  a label are refused.
* AES key wrap: ``acceptable`` ShortKey (8-byte key data) is refused: a CEK is at least
  16 bytes.
* X25519: ``acceptable`` low-order public keys (zero shared secret) are refused before
  any agreement (S7); the other ``acceptable`` ones (twist, non-canonical) are accepted
  and must give the expected shared secret.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tokensmith.jose import JWK, JoseError
from tokensmith.jose.content import content_algorithm
from tokensmith.jose.errors import DecryptionError
from tokensmith.jose.keymgmt import (
    KEY_MANAGEMENT,
    UnwrapOptions,
    aes_kw_unwrap,
    aes_kw_wrap,
    agree,
    check_ephemeral_key,
)

from ._data import wycheproof_cases


def _params(name: str) -> list[Any]:
    return [
        pytest.param(group, test, id=f"tc{test['tcId']}") for group, test in wycheproof_cases(name)
    ]


GCM_BY_KEY_BITS = {128: "A128GCM", 192: "A192GCM", 256: "A256GCM"}


@pytest.mark.parametrize(("group", "test"), _params("aes_gcm_test.json"))
def test_wycheproof_aes_gcm(group: dict[str, Any], test: dict[str, Any]) -> None:
    enc = content_algorithm(GCM_BY_KEY_BITS[group["keySize"]])
    key, iv, aad, msg, ct, tag = (
        bytes.fromhex(test[n]) for n in ("key", "iv", "aad", "msg", "ct", "tag")
    )
    if test["result"] == "valid" and group["ivSize"] == 96 and group["tagSize"] == 128:
        assert enc.decrypt(key, iv, ct, tag, aad) == msg
        assert enc.encrypt(key, iv, msg, aad) == (ct, tag)
    else:
        with pytest.raises(DecryptionError):
            enc.decrypt(key, iv, ct, tag, aad)


@pytest.mark.parametrize(
    ("file", "enc_name"),
    [
        ("a128cbc_hs256_test.json", "A128CBC-HS256"),
        ("a192cbc_hs384_test.json", "A192CBC-HS384"),
        ("a256cbc_hs512_test.json", "A256CBC-HS512"),
    ],
)
def test_wycheproof_aes_cbc_hmac(file: str, enc_name: str) -> None:
    enc = content_algorithm(enc_name)
    cases = wycheproof_cases(file)
    assert len(cases) == 94
    for _group, test in cases:
        key, iv, aad, msg, ct, tag = (
            bytes.fromhex(test[n]) for n in ("key", "iv", "aad", "msg", "ct", "tag")
        )
        if test["result"] == "valid":
            assert enc.decrypt(key, iv, ct, tag, aad) == msg, test["tcId"]
            assert enc.encrypt(key, iv, msg, aad) == (ct, tag), test["tcId"]
        else:
            with pytest.raises(DecryptionError):
                enc.decrypt(key, iv, ct, tag, aad)


@pytest.mark.parametrize(("group", "test"), _params("aes_wrap_test.json"))
def test_wycheproof_aes_key_wrap(group: dict[str, Any], test: dict[str, Any]) -> None:
    key, msg, ct = (bytes.fromhex(test[n]) for n in ("key", "msg", "ct"))
    if test["result"] == "valid":
        assert aes_kw_unwrap(key, ct) == msg
        assert aes_kw_wrap(key, msg) == ct
    else:  # invalid, and acceptable ShortKey: refused
        with pytest.raises(DecryptionError):
            aes_kw_unwrap(key, ct)


ECDH_FILES = [
    "ecdh_secp256r1_webcrypto_test.json",
    "ecdh_secp384r1_webcrypto_test.json",
    "ecdh_secp521r1_webcrypto_test.json",
]


@pytest.mark.parametrize("file", ECDH_FILES)
def test_wycheproof_ecdh_webcrypto(file: str) -> None:
    """The ECDH-ES decrypting path: the peer's JWK is validated as an ``epk`` against our
    key (S7), then agreed with. Invalid curve points, wrong curves and modified keys
    are refused before the agreement."""
    cases = wycheproof_cases(file)
    for _group, test in cases:
        ours = JWK(test["private"])
        if test["result"] == "valid":
            peer = check_ephemeral_key(test["public"], ours)
            shared = agree(ours.private_key_object, peer)
            assert shared.hex() == test["shared"], test["tcId"]
        else:
            with pytest.raises(JoseError):
                check_ephemeral_key(test["public"], ours)


@pytest.mark.parametrize(
    ("file", "alg"),
    [
        ("rsa_oaep_2048_sha1_mgf1sha1_test.json", "RSA-OAEP"),
        ("rsa_oaep_2048_sha256_mgf1sha256_test.json", "RSA-OAEP-256"),
    ],
)
def test_wycheproof_rsa_oaep(file: str, alg: str) -> None:
    km = KEY_MANAGEMENT[alg]
    base = content_algorithm("A128GCM")
    for group, test in wycheproof_cases(file):
        key = JWK({**group["privateKeyJwk"], "alg": alg})
        msg, ct = bytes.fromhex(test["msg"]), bytes.fromhex(test["ct"])
        # A content algorithm whose CEK size is the message's, to reach the raw unwrap.
        enc = dataclasses.replace(base, key_bytes=len(msg))
        if test["result"] == "valid" and not test["label"]:
            assert km.unwrap(key, enc, ct, {}, UnwrapOptions()) == msg, test["tcId"]
        else:  # invalid, or encrypted with a label JWE never uses
            with pytest.raises(DecryptionError):
                km.unwrap(key, enc, ct, {}, UnwrapOptions())


def test_wycheproof_x25519_jwk() -> None:
    cases = wycheproof_cases("x25519_jwk_test.json")
    assert len(cases) == 531
    refused = 0
    for _group, test in cases:
        ours = JWK(test["private"])
        low_order = "LowOrderPublic" in test["flags"] or "ZeroSharedSecret" in test["flags"]
        if test["result"] == "invalid" or low_order:
            with pytest.raises(JoseError):
                check_ephemeral_key(test["public"], ours)
            refused += 1
        else:
            peer = check_ephemeral_key(test["public"], ours)
            assert agree(ours.private_key_object, peer).hex() == test["shared"], test["tcId"]
    assert refused == 13 + 31  # invalid, and the acceptable low-order points

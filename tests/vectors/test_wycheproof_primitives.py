"""Wycheproof primitive vectors, run through tokensmith's own algorithm table.

Each case imports its key through our JWK class (the file's JWK when it has one, else
a JWK built from the raw/hex key members), asks the key for the algorithm with
``verifying_key_for`` (so the key/algorithm binding is exercised) and calls
``SIGNING_ALGORITHMS[alg].verify``: exactly what jws.verify does after parsing.

"acceptable" results: only the RSA PKCS#1 v1.5 files have any (MissingNull: a DigestInfo
without the NULL parameter). We chose to REJECT them, and the tests assert that.
"""

from __future__ import annotations

import binascii
from typing import Any

import pytest

from tokensmith.jose.algorithms import SIGNING_ALGORITHMS, SigningAlgorithm
from tokensmith.jose.encoding import b64url_encode
from tokensmith.jose.errors import WeakKeyError
from tokensmith.jose.jwk import JWK

from ._data import wycheproof, wycheproof_cases

ECDSA_FILES = {
    "ecdsa_secp256r1_sha256_p1363_test.json": ("ES256", "SHA-256"),
    "ecdsa_secp384r1_sha384_p1363_test.json": ("ES384", "SHA-384"),
    "ecdsa_secp521r1_sha512_p1363_test.json": ("ES512", "SHA-512"),
}
EC_CURVES = {"secp256r1": ("P-256", 32), "secp384r1": ("P-384", 48), "secp521r1": ("P-521", 66)}
# RFC 8037 "EdDSA" and the fully specified RFC 9864 name must agree on every case.
EDDSA_FILES = {
    "ed25519_test.json": ("EdDSA", "Ed25519"),
    "ed448_test.json": ("EdDSA", "Ed448"),
}
HMAC_FILES = {
    "hmac_sha256_test.json": "HS256",
    "hmac_sha384_test.json": "HS384",
    "hmac_sha512_test.json": "HS512",
}
RSA_PKCS1_FILES = {
    "rsa_signature_2048_sha256_test.json": ("RS256", "SHA-256"),
    "rsa_signature_2048_sha384_test.json": ("RS384", "SHA-384"),
    "rsa_signature_2048_sha512_test.json": ("RS512", "SHA-512"),
}
RSA_PSS_FILES = {
    "rsa_pss_2048_sha256_mgf1_32_test.json": ("PS256", "SHA-256", 32),
    "rsa_pss_2048_sha384_mgf1_48_test.json": ("PS384", "SHA-384", 48),
    "rsa_pss_4096_sha512_mgf1_64_test.json": ("PS512", "SHA-512", 64),
}


def _params(files: dict[str, Any]) -> list[Any]:
    return [
        pytest.param(name, group, test, id=f"{name.removesuffix('_test.json')}-tc{test['tcId']}")
        for name in files
        for group, test in wycheproof_cases(name)
    ]


def _hex(value: str) -> bytes:
    return binascii.unhexlify(value)


def _verify(key: JWK, alg_name: str, msg: bytes, sig: bytes) -> bool:
    alg = SIGNING_ALGORITHMS[alg_name]
    return alg.verify(key.verifying_key_for(alg), msg, sig)


def _expect(test: dict[str, Any]) -> bool:
    """valid -> accept; invalid -> reject; acceptable -> our documented choice: reject."""
    return test["result"] == "valid"


# ---- ECDSA, IEEE P1363 (raw r || s: the JWS signature format) --------------------------


def _ec_public_jwk(group: dict[str, Any]) -> dict[str, Any]:
    if "publicKeyJwk" in group:
        jwk: dict[str, Any] = group["publicKeyJwk"]
        return jwk
    # Some groups (github/davidben/ecdsa-r-s-edge-cases) carry only wx/wy in hex.
    raw = group["publicKey"]
    crv, size = EC_CURVES[raw["curve"]]
    x, y = (int(raw[c], 16).to_bytes(size, "big") for c in ("wx", "wy"))
    return {"kty": "EC", "crv": crv, "x": b64url_encode(x), "y": b64url_encode(y)}


@pytest.mark.parametrize(("name", "group", "test"), _params(ECDSA_FILES))
def test_ecdsa_p1363(name: str, group: dict[str, Any], test: dict[str, Any]) -> None:
    """S6: r or s zero, equal to n, out of range, wrong length, DER instead of raw,
    arithmetic edge cases. valid -> accepted; invalid -> rejected."""
    alg_name, sha = ECDSA_FILES[name]
    assert group["sha"] == sha
    assert test["result"] in ("valid", "invalid")
    key = JWK(_ec_public_jwk(group))
    assert _verify(key, alg_name, _hex(test["msg"]), _hex(test["sig"])) is _expect(test)


# ---- EdDSA ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "group", "test"), _params(EDDSA_FILES))
def test_eddsa(name: str, group: dict[str, Any], test: dict[str, Any]) -> None:
    """Ed25519 / Ed448 (RFC 8037, RFC 9864): malleable S, truncated signatures, signatures
    with garbage, invalid encodings. Both algorithm names give the published result."""
    assert test["result"] in ("valid", "invalid")
    key = JWK(group["publicKeyJwk"])
    msg, sig = _hex(test["msg"]), _hex(test["sig"])
    for alg_name in EDDSA_FILES[name]:
        assert _verify(key, alg_name, msg, sig) is _expect(test), alg_name


# ---- HMAC ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "group", "test"), _params(HMAC_FILES))
def test_hmac(name: str, group: dict[str, Any], test: dict[str, Any]) -> None:
    """S16/S17. The files also test what JWS forbids: keys shorter than the hash output
    (RFC 7518 §3.2) and tags truncated to half length. Our JWS layer refuses both: a
    short key is refused for HS* (WeakKeyError, S17) and a truncated tag never verifies
    (S16). Separately, the raw MAC must match the file: for a valid case our HMAC
    reproduces the full tag, or the truncated tag's prefix."""
    alg = SIGNING_ALGORITHMS[HMAC_FILES[name]]
    assert test["result"] in ("valid", "invalid")
    secret, msg, tag = _hex(test["key"]), _hex(test["msg"]), _hex(test["tag"])
    assert len(secret) * 8 == group["keySize"]
    assert len(tag) * 8 == group["tagSize"]
    key = JWK.from_secret(secret)
    full_length = len(tag) == alg.min_key_bytes  # the hash output size
    if len(secret) < alg.min_key_bytes:
        with pytest.raises(WeakKeyError):
            key.verifying_key_for(alg)
        with pytest.raises(WeakKeyError):
            key.signing_key_for(alg)
    # The MAC itself, on the raw secret: what the table computes once the key is allowed.
    mac = alg.sign(secret, msg)
    if test["result"] == "valid":
        assert mac[: len(tag)] == tag
    else:
        assert mac[: len(tag)] != tag
    # What JWS verification would conclude (S16: only a full-length tag can verify).
    expected = full_length and test["result"] == "valid"
    assert alg.verify(secret, msg, tag) is expected
    if len(secret) >= alg.min_key_bytes:
        # The key as JWS uses it: prepared once (a keyed context), reused for every call.
        prepared = key.verifying_key_for(alg)
        assert prepared is key.verifying_key_for(alg)
        for _ in range(2):
            assert alg.sign(prepared, msg) == mac
            assert alg.verify(prepared, msg, tag) is expected


# ---- RSA (present in shared/vectors although issue 2 expected them missing) -------------


def _rsa_key(group: dict[str, Any]) -> JWK:
    members = group.get("publicKeyJwk") or group["keyJwk"]
    assert "d" not in members
    return JWK(members)


@pytest.mark.parametrize(("name", "group", "test"), _params(RSA_PKCS1_FILES))
def test_rsa_pkcs1_v1_5(name: str, group: dict[str, Any], test: dict[str, Any]) -> None:
    """RS256/384/512: modified, BER or short padding, wrong hash, PSS instead of v1.5,
    signatures equal to 0, 1, n-1, n. "acceptable" (MissingNull): we reject."""
    alg_name, sha = RSA_PKCS1_FILES[name]
    assert group["sha"] == sha
    if test["result"] == "acceptable":
        assert "MissingNull" in test["flags"]
    key = _rsa_key(group)
    assert _verify(key, alg_name, _hex(test["msg"]), _hex(test["sig"])) is _expect(test)


@pytest.mark.parametrize(("name", "group", "test"), _params(RSA_PSS_FILES))
def test_rsa_pss(name: str, group: dict[str, Any], test: dict[str, Any]) -> None:
    """PS256/384/512 (MGF1 with the same hash, salt length = hash length, as RFC 7518
    §3.5 fixes it): modified signatures and v1.5 signatures are rejected."""
    alg_name, sha, salt_length = RSA_PSS_FILES[name]
    assert (group["sha"], group["mgfSha"], group["sLen"]) == (sha, sha, salt_length)
    assert test["result"] in ("valid", "invalid")
    key = _rsa_key(group)
    assert _verify(key, alg_name, _hex(test["msg"]), _hex(test["sig"])) is _expect(test)


@pytest.mark.parametrize(
    "files", [ECDSA_FILES, EDDSA_FILES, HMAC_FILES, RSA_PKCS1_FILES, RSA_PSS_FILES]
)
def test_every_case_of_every_file_is_parametrized(files: dict[str, Any]) -> None:
    assert len(_params(files)) == sum(wycheproof(name)["numberOfTests"] for name in files)


def test_algorithm_table_entries_used_here_exist() -> None:
    names = [
        *(a for a, _ in ECDSA_FILES.values()),
        *(a for pair in EDDSA_FILES.values() for a in pair),
        *HMAC_FILES.values(),
        *(a for a, _ in RSA_PKCS1_FILES.values()),
        *(a for a, _, _ in RSA_PSS_FILES.values()),
    ]
    assert all(isinstance(SIGNING_ALGORITHMS[n], SigningAlgorithm) for n in names)

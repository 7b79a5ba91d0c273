"""S19: key/algorithm binding and key-set hygiene. A key whose ``alg`` / ``use`` /
``key_ops`` says otherwise is not used; a ``use: enc`` key never verifies a signature;
duplicate kids or private keys in a public set reject the whole set."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hostile import CLAIMS, POLICY, forge, rejected

from tokensmith.jose import JWK, JWKSet, jws, jwt


def _public_with(key: JWK, **members: Any) -> JWK:
    data = {**key.public().to_dict(), **members}
    return JWK({k: v for k, v in data.items() if v is not None})


@pytest.mark.parametrize(
    ("members", "token_alg"),
    [
        ({"alg": "RS256"}, "PS256"),
        ({"alg": "RS256"}, "RS512"),
        ({"alg": "PS256"}, "RS256"),
        ({"use": "enc", "alg": None}, "RS256"),
        ({"key_ops": ["encrypt"], "alg": None}, "RS256"),
        ({"key_ops": ["wrapKey"], "alg": None}, "RS256"),
        ({"key_ops": ["sign"], "alg": None}, "RS256"),  # a public key that may only sign
        ({"key_ops": [], "alg": None}, "RS256"),
        ({"use": "enc", "key_ops": ["encrypt"], "alg": None}, "RS256"),
    ],
    ids=repr,
)
def test_s19_key_metadata_forbids_verification(
    members: dict[str, Any], token_alg: str, rs256: JWK
) -> None:
    token = forge({"alg": token_alg, "kid": "rsa", "typ": "JWT"}, CLAIMS, rs256)
    key = _public_with(rs256, **members)
    with rejected("jwk_not_usable"):
        jwt.decode(token, key, policy=POLICY)
    with rejected("jwk_not_usable"):
        jws.verify(token, key)
    with rejected("jwk_not_usable"):  # found by kid, but not usable: says so
        jwt.decode(token, JWKSet([key]), policy=POLICY)
    with rejected("jwks_key_not_found"):
        jwt.decode(token, [key], policy=POLICY)


def test_s19_correct_metadata_verifies(rs256: JWK) -> None:
    """Control: the same key with metadata that allows it verifies."""
    token = forge({"alg": "RS256", "kid": "rsa"}, CLAIMS, rs256)
    for members in ({"alg": "RS256"}, {"use": "sig"}, {"key_ops": ["verify"]}, {}):
        key = _public_with(rs256, **{"alg": None, **members})
        assert jwt.decode(token, key, policy=POLICY).claims == CLAIMS


def test_s19_enc_key_never_verifies_even_beside_a_sig_key(rs256: JWK, es256: JWK) -> None:
    """A set holding an encryption key: tokens signed by its private half are refused."""
    enc_key = _public_with(rs256, use="enc", alg=None, kid="enc")
    keys = JWKSet([enc_key, es256.public()])
    with_kid = forge({"alg": "RS256", "kid": "enc"}, CLAIMS, rs256)
    without_kid = forge({"alg": "RS256"}, CLAIMS, rs256)
    with rejected("jwk_not_usable"):
        jwt.decode(with_kid, keys, policy=POLICY)
    with rejected("jwks_key_not_found"):
        jwt.decode(without_kid, keys, policy=POLICY)


def test_s19_enc_key_refused_for_signing(rs256: JWK) -> None:
    key = JWK({**rs256.to_dict(), "use": "enc", "alg": "RSA-OAEP"})
    with rejected("jwk_not_usable"):
        jwt.encode(CLAIMS, key, alg="RS256")


@pytest.mark.parametrize(
    "members",
    [
        {"use": "enc", "key_ops": ["verify"]},
        {"use": "sig", "key_ops": ["encrypt"]},
        {"key_ops": ["verify", "verify"]},
        {"key_ops": "verify"},
        {"use": 1},
        {"alg": ["RS256"]},
        {"kid": 7},
    ],
    ids=repr,
)
def test_s19_contradictory_or_malformed_metadata_refused(
    members: dict[str, Any], rs256: JWK
) -> None:
    with rejected("jwk_invalid"):
        _public_with(rs256, **{"alg": None, **members})


def test_s19_duplicate_kids_reject_the_set(es256: JWK) -> None:
    other = JWK.generate("ES256", kid=es256.kid)
    with rejected("jwks_invalid"):
        JWKSet([es256.public(), other.public()])
    with rejected("jwks_invalid"):
        JWKSet.from_dict({"keys": [es256.public().to_dict(), other.public().to_dict()]})
    # The same key twice under one kid is still a duplicate.
    with rejected("jwks_invalid"):
        JWKSet.from_json(json.dumps({"keys": [es256.public().to_dict()] * 2}))


@pytest.mark.parametrize("private_member", ["d", "p", "q", "dp", "dq", "qi", "oth", "k"])
def test_s19_private_member_rejects_a_public_set(private_member: str, rs256: JWK) -> None:
    public = rs256.public().to_dict()
    private = rs256.to_dict()
    member = {**public, private_member: private.get(private_member, "AQAB")}
    with rejected("jwks_invalid"):
        JWKSet.from_dict({"keys": [public | {"kid": "other"}, member]}, public_only=True)
    with rejected("jwks_invalid"):
        JWKSet.from_json(json.dumps({"keys": [member]}), public_only=True)


def test_s19_private_and_secret_keys_reject_a_public_set(rs256: JWK, hs256: JWK) -> None:
    for key in (rs256, hs256):
        with rejected("jwks_invalid"):
            JWKSet([key], public_only=True)
    assert len(JWKSet([rs256.public()], public_only=True)) == 1

"""Unit tests of tokensmith.jose.jws: compact and JSON round trips for every algorithm,
detached payloads, headers, the allow-list and key lookup."""

from __future__ import annotations

import pytest

from tokensmith.jose import ALL_SIGNING_ALGORITHMS, JWK, JWKSet, jws
from tokensmith.jose.errors import (
    AlgorithmNotAllowedError,
    InvalidSignatureError,
    KeyMismatchError,
    KeyNotFoundError,
    MalformedError,
)
from tokensmith.jose.jws import Signer

PAYLOAD = b"\x00payload \xff"


@pytest.fixture(scope="module")
def keys() -> dict[str, JWK]:
    return {alg: JWK.generate(alg, kid=f"k-{alg}") for alg in ALL_SIGNING_ALGORITHMS}


def verifier(key: JWK) -> JWK:
    return key if key.is_symmetric else key.public()


@pytest.mark.parametrize("alg", ALL_SIGNING_ALGORITHMS)
def test_compact_round_trip(alg: str, keys: dict[str, JWK]) -> None:
    key = keys[alg]
    token = jws.sign(PAYLOAD, key)
    result = jws.verify(token, verifier(key), algorithms=[alg])
    assert result.payload == PAYLOAD
    assert result.header == {"alg": alg, "kid": key.kid}
    head, body, sig = token.split(".")
    flipped = sig[:-2] + ("AA" if sig[-2:] != "AA" else "BA")
    with pytest.raises((InvalidSignatureError, MalformedError)):
        jws.verify(f"{head}.{body}.{flipped}", verifier(key))


@pytest.mark.parametrize("alg", ALL_SIGNING_ALGORITHMS)
def test_json_round_trip(alg: str, keys: dict[str, JWK]) -> None:
    key = keys[alg]
    flat = jws.sign_json(PAYLOAD, [Signer(key, header={"x-note": 1})], flattened=True)
    result = jws.verify_json(flat, verifier(key))
    assert result.payload == PAYLOAD
    assert result.header["x-note"] == 1
    assert "x-note" not in result.protected


def test_general_json_with_two_signers(keys: dict[str, JWK]) -> None:
    es, ed = keys["ES256"], keys["EdDSA"]
    obj = jws.sign_json(PAYLOAD, [Signer(es), Signer(ed)])
    assert len(obj["signatures"]) == 2
    assert jws.verify_json(obj, ed.public()).key == ed.public()
    assert jws.verify_json(obj, JWKSet([es.public(), ed.public()])).key == es.public()
    with pytest.raises(ValueError, match="flattened"):
        jws.sign_json(PAYLOAD, [Signer(es), Signer(ed)], flattened=True)
    with pytest.raises(ValueError, match="signer"):
        jws.sign_json(PAYLOAD, [])


def test_detached_compact_and_json(keys: dict[str, JWK]) -> None:
    key = keys["ES256"]
    token = jws.sign(PAYLOAD, key, detached=True)
    assert token.split(".")[1] == ""
    assert jws.verify(token, key.public(), detached_payload=PAYLOAD).payload == PAYLOAD
    with pytest.raises(InvalidSignatureError):
        jws.verify(token, key.public(), detached_payload=b"other")
    attached = jws.sign(PAYLOAD, key)
    with pytest.raises(MalformedError):
        jws.verify(attached, key.public(), detached_payload=PAYLOAD)
    obj = jws.sign_json(PAYLOAD, [Signer(key)], detached=True)
    assert "payload" not in obj
    assert jws.verify_json(obj, key.public(), detached_payload=PAYLOAD).payload == PAYLOAD


def test_b64_false_compact(keys: dict[str, JWK]) -> None:
    key = keys["HS256"]
    header = {"b64": False, "crit": ["b64"]}
    token = jws.sign(b"abc", key, header=header)
    assert token.split(".")[1] == "abc"
    assert jws.verify(token, key).payload == b"abc"
    with pytest.raises(ValueError, match="must not contain"):
        jws.sign(b"a.b", key, header=header)
    detached = jws.sign(b"a.b", key, header=header, detached=True)
    assert jws.verify(detached, key, detached_payload=b"a.b").payload == b"a.b"


def test_extra_protected_headers(keys: dict[str, JWK]) -> None:
    key = keys["ES256"]
    token = jws.sign(PAYLOAD, key, header={"typ": "x+jwt", "cty": "c"})
    assert jws.verify(token, key.public()).header == {
        "alg": "ES256",
        "kid": key.kid,
        "typ": "x+jwt",
        "cty": "c",
    }
    with pytest.raises(ValueError, match="alg"):
        jws.sign(PAYLOAD, key, header={"alg": "HS256"})


def test_algorithms_allow_list(keys: dict[str, JWK]) -> None:
    key = keys["ES256"]
    token = jws.sign(PAYLOAD, key)
    with pytest.raises(AlgorithmNotAllowedError):
        jws.verify(token, key.public(), algorithms=["ES384", "RS256"])
    with pytest.raises(TypeError):
        jws.verify(token, key.public(), algorithms="ES256")
    with pytest.raises(ValueError, match="none"):
        jws.verify(token, key.public(), algorithms=["ES256", "none"])


def test_signing_alg_resolution(keys: dict[str, JWK]) -> None:
    bare_ec = JWK({k: v for k, v in keys["ES384"].to_dict().items() if k != "alg"})
    assert jws.verify(jws.sign(PAYLOAD, bare_ec), bare_ec.public()).header["alg"] == "ES384"
    bare_rsa = JWK({k: v for k, v in keys["RS256"].to_dict().items() if k != "alg"})
    with pytest.raises(ValueError, match="name the algorithm"):
        jws.sign(PAYLOAD, bare_rsa)
    assert jws.verify(jws.sign(PAYLOAD, bare_rsa, alg="PS384"), bare_rsa.public()).payload
    with pytest.raises(KeyMismatchError):
        jws.sign(PAYLOAD, keys["RS256"], alg="PS256")  # the key says RS256 (S19)
    with pytest.raises(TypeError):
        jws.sign(PAYLOAD, b"secret")  # type: ignore[arg-type]


def test_key_lookup_by_kid_in_sets(keys: dict[str, JWK]) -> None:
    es = keys["ES256"]
    other = JWK.generate("ES256", kid="other")
    token = jws.sign(PAYLOAD, es)
    good = JWKSet([other.public(), es.public()])
    assert jws.verify(token, good).key.kid == es.kid
    with pytest.raises(KeyNotFoundError):
        jws.verify(token, JWKSet([other.public()]))
    # A kid naming a key that cannot serve the alg is a mismatch, not a fallback.
    wrong = JWKSet([keys["EdDSA"].public().with_kid(es.kid)])
    with pytest.raises(KeyMismatchError):
        jws.verify(token, wrong)


def test_key_selection_without_kid(keys: dict[str, JWK]) -> None:
    es = JWK.generate("ES256")
    anonymous = JWK({k: v for k, v in es.to_dict().items() if k != "kid"})
    token = jws.sign(PAYLOAD, anonymous)
    assert "kid" not in jws.verify(token, anonymous.public()).header
    decoys = [JWK.generate("ES256").public(), keys["RS256"].public(), anonymous.public()]
    assert jws.verify(token, decoys).key == anonymous.public()
    assert jws.verify(token, JWKSet(decoys)).key == anonymous.public()
    with pytest.raises(InvalidSignatureError):
        jws.verify(token, decoys[:2])
    with pytest.raises(KeyNotFoundError):
        jws.verify(token, [keys["RS256"].public()])
    with pytest.raises(TypeError):
        jws.verify(token, {"keys": []})  # type: ignore[arg-type]

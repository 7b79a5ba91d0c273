"""Wycheproof JOSE-level vectors: json_web_signature, json_web_key, json_web_crypto.

Every case is its own test, named by tcId. "valid" means our verify returns the
payload; "invalid" means it raises a JoseError subclass (any other exception fails the
test). The verifier holds the group's public key (or key set) when there is one, else
the private/secret one, as a relying party would.

Quirks of the files, each handled explicitly below (see also shared/vectors/README.md):
- json_web_signature tcId 346/350 (RFC 7520 Figure 20) and 347/351 (Figure 27): the
  group's key says "alg": "PS256" / "ES521" while the token is PS384 / ES512.
- json_web_signature tcId 367/370 are byte-identical to the valid tcId 357.
- json_web_signature tcId 372/373 are labelled valid but carry a "?" in a segment.
- json_web_crypto JWE cases are run by tests/vectors/test_jwe_wycheproof.py, not here.
"""

from __future__ import annotations

from typing import Any

import pytest

from tokensmith.jose import jws
from tokensmith.jose.encoding import b64url_decode
from tokensmith.jose.errors import JoseError, KeyMismatchError, MalformedError
from tokensmith.jose.jwk import JWK
from tokensmith.jose.jwkset import JWKSet

from ._data import wycheproof, wycheproof_cases

# tcIds whose key's "alg" names another algorithm than the RFC 7520 token it verifies.
KEY_ALG_QUIRKS = {346: "PS256", 350: "PS256", 347: "ES521", 351: "ES521"}
# Labelled valid, but a "?" sits inside a base64url segment (S13): we reject them.
STRICT_BASE64_REJECTS = {372, 373}
# Byte-identical to tcId 357 (labelled valid) although labelled invalid upstream.
IDENTICAL_TO_357 = {367: "signature", 370: "payload"}


def _params(name: str) -> list[Any]:
    """The JWS/JWK cases of a file (its JWE cases run in test_jwe_wycheproof.py)."""
    return [
        pytest.param(group, test, id=f"tc{test['tcId']}-{test['comment']}")
        for group, test in wycheproof_cases(name)
        if "jwe" not in test
    ]


def _verifier_keys(group: dict[str, Any]) -> JWK | JWKSet:
    """The key (or key set) a verifier holds. Building it may itself be the rejection."""
    source = group.get("public") or group["private"]
    if "keys" in source:
        return JWKSet.from_dict(source)
    return JWK(source)


def _expected_payload(token: str) -> bytes:
    return b64url_decode(token.split(".")[1])


def _check(group: dict[str, Any], test: dict[str, Any]) -> None:
    token = test["jws"]
    if test["result"] == "valid":
        result = jws.verify(token, _verifier_keys(group))
        assert result.payload == _expected_payload(token)
        return
    assert test["result"] == "invalid", "no 'acceptable' cases in the JOSE-level files"
    with pytest.raises(JoseError):
        jws.verify(token, _verifier_keys(group))
    if "JsonSerialization" in test["flags"]:
        _check_json_serialization(group, token)


def _check_json_serialization(group: dict[str, Any], token: str | dict[str, Any]) -> None:
    """S10: the compact API refuses a JSON serialization. json_web_crypto gives it as an
    object with a correct MAC: the JSON API verifies it, so the refusal is about the
    serialization. json_web_signature gives it as a string cut short (no closing "]}"):
    not JSON at all, so the JSON API refuses it too."""
    keys = _verifier_keys(group)
    if isinstance(token, dict):
        assert jws.verify_json(token, keys).payload == b"foo"
        return
    assert not token.endswith("]}")
    with pytest.raises(MalformedError) as info:
        jws.verify_json(token, keys)
    assert info.value.code == "jose_bad_json"


@pytest.mark.parametrize(("group", "test"), _params("json_web_signature_test.json"))
def test_json_web_signature(group: dict[str, Any], test: dict[str, Any]) -> None:
    """S1 (alg none), S2 (symmetry confusion), S3 (embedded jwk), S6 (ECDSA edge cases),
    S13 (lax base64url), S19 (use/key_ops) and RSA padding cases, as published."""
    tc_id = test["tcId"]
    if tc_id in KEY_ALG_QUIRKS:
        _check_key_alg_quirk(group, test, KEY_ALG_QUIRKS[tc_id])
    elif tc_id in STRICT_BASE64_REJECTS:
        _check_strict_base64_reject(group, test)
    elif tc_id in IDENTICAL_TO_357:
        _check_identical_to_357(group, test, IDENTICAL_TO_357[tc_id])
    else:
        _check(group, test)


def _check_key_alg_quirk(group: dict[str, Any], test: dict[str, Any], key_alg: str) -> None:
    """S19: RFC 7520 Figures 20 and 27 are PS384 and ES512 tokens, but the group's key
    says "alg": "PS256" / "ES521" (the latter is not even a registered name). A key
    whose "alg" names another algorithm is never used (KeyMismatchError); with that one
    member dropped, the published token verifies, as labelled."""
    assert test["result"] == "valid"
    public = dict(group["public"])
    assert public["alg"] == key_alg
    with pytest.raises(KeyMismatchError):
        jws.verify(test["jws"], JWK(public))
    del public["alg"]
    assert jws.verify(test["jws"], JWK(public)).payload == _expected_payload(test["jws"])


def _check_strict_base64_reject(group: dict[str, Any], test: dict[str, Any]) -> None:
    """S13: labelled valid upstream, but a "?" is inserted into the header or payload
    segment and the MAC does not cover the segment as given; a strict base64url decoder
    (ours) refuses the segment. We treat these as invalid (shared/vectors/README.md)."""
    assert test["result"] == "valid"
    assert "?" in test["jws"]
    with pytest.raises(MalformedError) as info:
        jws.verify(test["jws"], _verifier_keys(group))
    assert info.value.code == "jose_bad_base64"


def _check_identical_to_357(group: dict[str, Any], test: dict[str, Any], segment: str) -> None:
    """S13, vector defect: tcId 367 ("invalidBase64Padding") and 370
    ("invalidBase64PaddingInPayload") are labelled invalid, yet their token is byte for
    byte the token of tcId 357, which is labelled valid (the padding the comments
    describe is absent, upstream too). No deterministic verifier can honour both
    labels; we match 357's label (the MAC is right) and prove the case the comment
    describes: the same token with "==" padding in that segment is rejected."""
    assert test["result"] == "invalid"
    valid_357 = next(t for t in group["tests"] if t["tcId"] == 357)
    assert valid_357["result"] == "valid"
    assert test["jws"] == valid_357["jws"]
    keys = _verifier_keys(group)
    assert jws.verify(test["jws"], keys).payload == b"Test"
    header, payload, signature = test["jws"].split(".")
    if segment == "signature":
        signature += "=" * (-len(signature) % 4 or 4)
    else:
        payload += "=" * (-len(payload) % 4 or 4)
    with pytest.raises(MalformedError) as info:
        jws.verify(f"{header}.{payload}.{signature}", keys)
    assert info.value.code == "jose_bad_base64"


@pytest.mark.parametrize(("group", "test"), _params("json_web_key_test.json"))
def test_json_web_key(group: dict[str, Any], test: dict[str, Any]) -> None:
    """Key and key-set validation: S17 (short and empty HMAC keys), S18 (1024-bit RSA,
    e = 1, ROCA), S19 (wrong use, alg/curve mismatch, duplicate kid, a secret mixed with
    public keys), invalid points and key types."""
    _check(group, test)


@pytest.mark.parametrize(("group", "test"), _params("json_web_crypto_test.json"))
def test_json_web_crypto(group: dict[str, Any], test: dict[str, Any]) -> None:
    """The JWS parts of json_web_crypto: the basic tampering cases, S1, S2, S3, ROCA
    (S18), key sets. Its JWE parts run in test_jwe_wycheproof.py."""
    _check(group, test)


def test_all_three_files_are_run_in_full() -> None:
    """Guards the runner against silently dropping cases: every test of each file is
    parametrized exactly once."""
    for name in ("json_web_signature_test.json", "json_web_key_test.json"):
        data = wycheproof(name)
        assert len(_params(name)) == data["numberOfTests"] == len(wycheproof_cases(name))
    crypto = wycheproof("json_web_crypto_test.json")
    jwe_cases = [t for _, t in wycheproof_cases("json_web_crypto_test.json") if "jwe" in t]
    assert jwe_cases  # run by tests/vectors/test_jwe_wycheproof.py
    assert len(_params("json_web_crypto_test.json")) + len(jwe_cases) == crypto["numberOfTests"]

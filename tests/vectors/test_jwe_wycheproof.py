"""Wycheproof JOSE-level JWE cases: json_web_encryption_test.json, and the JWE groups of
json_web_crypto_test.json. Every expected result is matched.

They run under a policy that allows every key management algorithm but PBES2, RSA1_5
included, since several groups are RSA1_5 (with the default policy those tokens are
refused outright; see tests/security/test_jwe_s20_rsa1_5.py). ``invalid`` must end in
a JoseError; ``valid`` must decrypt to ``pt``.

tcId 22 (json_web_encryption) and 66 (json_web_crypto), "rejectsValidJsonSerialization",
hand a JSON serialization to a compact decoder: ``jwe.decrypt`` refuses it (S10), as
expected. The same object is a well-formed flattened JSON serialization, and
``jwe.decrypt_json`` opens it; the test asserts both.
"""

from __future__ import annotations

from typing import Any

import pytest

from tokensmith.jose import JWK, JoseError, jwe
from tokensmith.jose.errors import MalformedError

from ._data import wycheproof_cases

ALL_BUT_PBES2 = jwe.JWEPolicy(algorithms={*jwe.DEFAULT_ALGORITHMS, "RSA1_5"})


def _cases(name: str) -> list[Any]:
    return [
        pytest.param(group, test, id=f"tc{test['tcId']}-{test['comment']}")
        for group, test in wycheproof_cases(name)
        if "jwe" in test
    ]


ENCRYPTION = _cases("json_web_encryption_test.json")
CRYPTO = _cases("json_web_crypto_test.json")


def test_every_case_is_collected() -> None:
    assert len(ENCRYPTION) == 139
    assert len(CRYPTO) == 34  # the jwe_aes and jwe_ec groups; the rest are JWS


def _check(group: dict[str, Any], test: dict[str, Any]) -> None:
    key = JWK(group["private"])
    token = test["jwe"]
    if "JsonSerialization" in test["flags"]:
        assert test["result"] == "invalid"
        with pytest.raises(MalformedError):
            jwe.decrypt(token, key, policy=ALL_BUT_PBES2)
        assert jwe.decrypt_json(token, key, policy=ALL_BUT_PBES2).plaintext == b"foo"
        return
    if test["result"] == "valid":
        result = jwe.decrypt(token, key, policy=ALL_BUT_PBES2)
        # json_web_crypto gives no "pt"; its valid tokens carry "foo" like the others.
        assert result.plaintext == bytes.fromhex(test.get("pt", b"foo".hex()))
        assert result.header["enc"] == test.get("enc", result.header["enc"])
    else:
        assert test["result"] == "invalid"
        with pytest.raises(JoseError):
            jwe.decrypt(token, key, policy=ALL_BUT_PBES2)


@pytest.mark.parametrize(("group", "test"), ENCRYPTION)
def test_wycheproof_json_web_encryption(group: dict[str, Any], test: dict[str, Any]) -> None:
    _check(group, test)


@pytest.mark.parametrize(("group", "test"), CRYPTO)
def test_wycheproof_json_web_crypto_jwe(group: dict[str, Any], test: dict[str, Any]) -> None:
    _check(group, test)

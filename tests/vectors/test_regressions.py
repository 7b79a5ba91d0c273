"""Regression tests for core bugs the published vectors found (one test per bug)."""

from __future__ import annotations

import pytest

from tokensmith.jose.errors import WeakKeyError
from tokensmith.jose.jwk import JWK

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

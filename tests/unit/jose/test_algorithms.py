"""Unit tests of tokensmith.jose.algorithms: the table and its resolver."""

from __future__ import annotations

import pytest

from tokensmith.jose.algorithms import (
    ALL_SIGNING_ALGORITHMS,
    SIGNING_ALGORITHMS,
    algorithms_for_key,
    signing_algorithm,
)
from tokensmith.jose.errors import AlgorithmNotAllowedError, UnsupportedError


def test_table_contents() -> None:
    assert set(ALL_SIGNING_ALGORITHMS) == {
        "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
        "ES256", "ES384", "ES512", "ES256K", "EdDSA", "Ed25519", "Ed448",
    }  # fmt: skip
    assert SIGNING_ALGORITHMS["HS384"].min_key_bytes == 48
    assert SIGNING_ALGORITHMS["ES512"].curves == frozenset({"P-521"})
    assert SIGNING_ALGORITHMS["EdDSA"].curves == frozenset({"Ed25519", "Ed448"})
    assert SIGNING_ALGORITHMS["Ed448"].curves == frozenset({"Ed448"})
    with pytest.raises(TypeError):
        SIGNING_ALGORITHMS["none"] = SIGNING_ALGORITHMS["HS256"]  # type: ignore[index]


@pytest.mark.parametrize("name", ["none", "None", "NONE", "nOnE"])
def test_s1_none_never_resolves(name: str) -> None:
    with pytest.raises(AlgorithmNotAllowedError):
        signing_algorithm(name)


@pytest.mark.parametrize("name", ["HS1", "hs256", "RS256 ", "ES521", ""])
def test_unknown_names(name: str) -> None:
    with pytest.raises(UnsupportedError) as info:
        signing_algorithm(name)
    assert info.value.code == "jose_unsupported_alg"


@pytest.mark.parametrize("name", [None, 256, ["HS256"], b"HS256"])
def test_non_string_alg(name: object) -> None:
    with pytest.raises(AlgorithmNotAllowedError):
        signing_algorithm(name)


def test_algorithms_for_key() -> None:
    assert algorithms_for_key("oct", None) == ("HS256", "HS384", "HS512")
    assert algorithms_for_key("EC", "secp256k1") == ("ES256K",)
    assert algorithms_for_key("OKP", "Ed448") == ("EdDSA", "Ed448")
    assert algorithms_for_key("OKP", "X25519") == ()


def test_ecdsa_verify_rejects_zero_and_wrong_length() -> None:
    """S6: r = s = 0 and non-raw lengths never verify (the key is not even consulted)."""
    es256 = SIGNING_ALGORITHMS["ES256"]
    assert es256.verify(None, b"data", bytes(64)) is False
    assert es256.verify(None, b"data", bytes(63)) is False

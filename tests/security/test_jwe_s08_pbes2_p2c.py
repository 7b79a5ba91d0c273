"""S8: PBES2 ``p2c`` denial of service (panva/jose CVE-2022-36083, jwcrypto CVE-2023-6681).

PBES2 is off by default and can be allowed only together with a ``p2c`` cap. A ``p2c``
above the cap (2^31 included), 0, negative, a float, a string, a bool or missing is
refused before any key derivation: the tests count PBKDF2 calls and require zero,
instead of timing anything.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tokensmith.jose import JWK, jwe
from tokensmith.jose import keymgmt as km_module
from tokensmith.jose.encoding import b64url_decode, b64url_encode
from tokensmith.jose.errors import AlgorithmNotAllowedError, JoseError

ALG = "PBES2-HS256+A128KW"
PASSWORD = JWK.from_secret(b"correct horse battery staple", alg=ALG)
CAPPED = jwe.JWEPolicy(algorithms={ALG}, max_p2c=10_000)


@pytest.fixture
def derivations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Records the iteration count of every PBKDF2 derivation."""
    calls: list[int] = []
    real: Callable[..., bytes] = km_module.pbkdf2

    def counting(hash_name: str, password: bytes, salt: bytes, iterations: int, n: int) -> bytes:
        calls.append(iterations)
        return real(hash_name, password, salt, iterations, n)

    monkeypatch.setattr(km_module, "pbkdf2", counting)
    return calls


def _with_p2c(token: str, p2c: Any) -> str:
    """The same token with another (or no) ``p2c`` in its protected header."""
    protected_b64, *rest = token.split(".")
    header = json.loads(b64url_decode(protected_b64))
    if p2c is _MISSING:
        del header["p2c"]
    else:
        header["p2c"] = p2c
    return ".".join([b64url_encode(json.dumps(header).encode()), *rest])


_MISSING = object()


@pytest.fixture(scope="module")
def token() -> str:
    return jwe.encrypt(b"secret", PASSWORD, header={"p2c": 1000})


def test_s8_pbes2_off_by_default(token: str, derivations: list[int]) -> None:
    with pytest.raises(AlgorithmNotAllowedError):
        jwe.decrypt(token, PASSWORD)
    assert derivations == []


def test_s8_pbes2_cannot_be_allowed_without_a_cap() -> None:
    with pytest.raises(ValueError, match="p2c"):
        jwe.JWEPolicy(algorithms={ALG})
    with pytest.raises(ValueError, match="max_p2c"):
        jwe.JWEPolicy(algorithms={ALG}, max_p2c=2**31)


@pytest.mark.parametrize(
    "p2c",
    [
        2**31,
        2**63,
        10**100,
        10_001,
        0,
        -1,
        -(2**31),
        999,
        1000.0,
        1.5,
        "1000",
        True,
        None,
        _MISSING,
    ],
    ids=lambda v: "missing" if v is _MISSING else repr(v)[:12],
)
def test_s8_bad_p2c_refused_before_any_derivation(
    token: str, p2c: Any, derivations: list[int]
) -> None:
    with pytest.raises(JoseError) as info:
        jwe.decrypt(_with_p2c(token, p2c), PASSWORD, policy=CAPPED)
    assert info.value.code == "jwe_invalid_p2c"
    assert derivations == []


def test_s8_p2c_of_2_pow_31_is_refused_with_zero_work(token: str, derivations: list[int]) -> None:
    """The issue's bound: a p2c of 2^31 costs no PBKDF2 iteration at all."""
    with pytest.raises(JoseError):
        jwe.decrypt(_with_p2c(token, 2**31), PASSWORD, policy=CAPPED)
    assert sum(derivations) == 0


def test_s8_p2c_within_the_cap_derives_once(token: str, derivations: list[int]) -> None:
    assert jwe.decrypt(token, PASSWORD, policy=CAPPED).plaintext == b"secret"
    assert derivations == [1000]


def test_s8_p2c_exactly_at_the_cap_is_accepted(derivations: list[int]) -> None:
    token = jwe.encrypt(b"x", PASSWORD, header={"p2c": 10_000})
    assert jwe.decrypt(token, PASSWORD, policy=CAPPED).plaintext == b"x"
    assert derivations == [10_000, 10_000]  # once to encrypt, once to decrypt


@pytest.mark.parametrize("p2s", ["", "AAAAAAAAAA", 12, None])
def test_s8_short_or_malformed_p2s_refused_before_derivation(
    token: str, p2s: Any, derivations: list[int]
) -> None:
    protected_b64, *rest = token.split(".")
    header = json.loads(b64url_decode(protected_b64))
    header["p2s"] = p2s  # "AAAAAAAAAA" is 7 bytes: RFC 7518 §4.8.1.1 wants at least 8
    forged = ".".join([b64url_encode(json.dumps(header).encode()), *rest])
    with pytest.raises(JoseError):
        jwe.decrypt(forged, PASSWORD, policy=CAPPED)
    assert derivations == []

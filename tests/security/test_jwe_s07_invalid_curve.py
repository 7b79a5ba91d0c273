"""S7: JWE invalid-curve attacks (go-jose CVE-2016-9121, node-jose CVE-2017-16007).

An ECDH-ES ephemeral key off the curve, on another curve, the identity, a small-order
X25519/X448 point, or carrying private members is rejected before any key agreement:
the tests count calls to the agreement function and require zero.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, x448, x25519

from tokensmith.jose import JWK, jwe
from tokensmith.jose import keymgmt as km_module
from tokensmith.jose.encoding import b64url_decode, b64url_encode
from tokensmith.jose.errors import JoseError, MalformedError

X25519_P = 2**255 - 19
X448_P = 2**448 - 2**224 - 1


@pytest.fixture
def agreements(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts calls to the ECDH agreement primitive."""
    calls: list[int] = []
    real: Callable[[Any, Any], bytes] = km_module.agree

    def counting(private: Any, public: Any) -> bytes:
        calls.append(1)
        return real(private, public)

    monkeypatch.setattr(km_module, "agree", counting)
    return calls


def _token(epk: object, alg: str = "ECDH-ES+A128KW") -> str:
    header = {"alg": alg, "enc": "A128GCM", "epk": epk}
    parts = [
        b64url_encode(json.dumps(header).encode()),
        b64url_encode(secrets.token_bytes(24)) if "KW" in alg else "",
        b64url_encode(secrets.token_bytes(12)),
        b64url_encode(b"ciphertext"),
        b64url_encode(secrets.token_bytes(16)),
    ]
    return ".".join(parts)


def _rejected(token: str, key: JWK, agreements: list[int]) -> None:
    with pytest.raises(JoseError) as info:
        jwe.decrypt(token, key)
    assert info.value.code == "jwe_invalid_epk"
    assert agreements == []


@pytest.mark.parametrize("crv", ["P-256", "P-384", "P-521"])
def test_s7_epk_off_the_curve_rejected_before_agreement(crv: str, agreements: list[int]) -> None:
    ours = _ec_key(crv)
    epk = _ec_key(crv).public().to_dict()
    y = bytearray(b64url_decode(epk["y"]))
    y[-1] ^= 1
    epk["y"] = b64url_encode(bytes(y))
    _rejected(_token(epk), ours, agreements)


def _ec_key(crv: str, alg: str = "ECDH-ES+A128KW") -> JWK:
    curve = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1, "P-521": ec.SECP521R1}[crv]
    return JWK.from_object(ec.generate_private_key(curve()), alg=alg)


def test_s7_epk_on_another_curve_rejected(agreements: list[int]) -> None:
    ours = _ec_key("P-256")
    epk = _ec_key("P-384").public().to_dict()
    _rejected(_token(epk), ours, agreements)


def test_s7_epk_claiming_our_curve_with_another_curves_point_rejected(
    agreements: list[int],
) -> None:
    """A P-384 point's coordinates, relabelled P-256 (wrong sizes, not on P-256)."""
    ours = _ec_key("P-256")
    epk = {**_ec_key("P-384").public().to_dict(), "crv": "P-256"}
    _rejected(_token(epk), ours, agreements)


@pytest.mark.parametrize("crv", ["P-256", "P-384", "P-521"])
def test_s7_identity_and_zero_point_rejected(crv: str, agreements: list[int]) -> None:
    ours = _ec_key(crv)
    size = {"P-256": 32, "P-384": 48, "P-521": 66}[crv]
    zero = b64url_encode(bytes(size))
    _rejected(_token({"kty": "EC", "crv": crv, "x": zero, "y": zero}), ours, agreements)


def test_s7_okp_epk_for_an_ec_key_rejected(agreements: list[int]) -> None:
    ours = _ec_key("P-256")
    epk = JWK.from_object(x25519.X25519PrivateKey.generate()).public().to_dict()
    _rejected(_token(epk), ours, agreements)


def test_s7_epk_with_private_members_rejected(agreements: list[int]) -> None:
    ours = _ec_key("P-256")
    epk = _ec_key("P-256").to_dict()  # includes "d"
    _rejected(_token(epk), ours, agreements)


@pytest.mark.parametrize("epk", ["a string", ["list"], 7, None])
def test_s7_epk_not_an_object_rejected(epk: object, agreements: list[int]) -> None:
    _rejected(_token(epk), _ec_key("P-256"), agreements)


def test_s7_missing_epk_rejected(agreements: list[int]) -> None:
    header = {"alg": "ECDH-ES", "enc": "A128GCM"}
    token = (
        b64url_encode(json.dumps(header).encode()) + "..AAAAAAAAAAAAAAAA.AA.AAAAAAAAAAAAAAAAAAAAAA"
    )
    with pytest.raises(MalformedError):
        jwe.decrypt(token, _ec_key("P-256", "ECDH-ES"))
    assert agreements == []


# The small-order u-coordinates of Curve25519, and encodings that X25519 maps onto them
# (p and p+1 are 0 and 1 mod p; the top bit is masked by X25519).
X25519_SMALL_ORDER = [
    0,
    1,
    X25519_P - 1,
    325606250916557431795983626356110631294008115727848805560023387167927233504,
    39382357235489614581723060781553021112529911719440698176882885853963445705823,
    X25519_P,
    X25519_P + 1,
    2**255,  # 0 with the top bit set
    2**255 + 1,
]


@pytest.mark.parametrize("u", X25519_SMALL_ORDER, ids=lambda u: f"u={u:#x}"[:24])
@pytest.mark.parametrize("alg", ["ECDH-ES", "ECDH-ES+A256KW"])
def test_s7_x25519_small_order_points_rejected(u: int, alg: str, agreements: list[int]) -> None:
    ours = JWK.from_object(x25519.X25519PrivateKey.generate(), alg=alg)
    epk = {"kty": "OKP", "crv": "X25519", "x": b64url_encode(u.to_bytes(32, "little"))}
    _rejected(_token(epk, alg), ours, agreements)


@pytest.mark.parametrize("u", [0, 1, X448_P - 1, X448_P, X448_P + 1])
def test_s7_x448_small_order_points_rejected(u: int, agreements: list[int]) -> None:
    ours = JWK.from_object(x448.X448PrivateKey.generate(), alg="ECDH-ES")
    epk = {"kty": "OKP", "crv": "X448", "x": b64url_encode(u.to_bytes(56, "little"))}
    _rejected(_token(epk, "ECDH-ES"), ours, agreements)


def test_s7_valid_epk_reaches_agreement_exactly_once(agreements: list[int]) -> None:
    """Control: a genuine token is agreed once and decrypts."""
    ours = JWK.from_object(x25519.X25519PrivateKey.generate(), alg="ECDH-ES")
    token = jwe.encrypt(b"hi", ours.public())
    agreements.clear()
    assert jwe.decrypt(token, ours).plaintext == b"hi"
    assert agreements == [1]

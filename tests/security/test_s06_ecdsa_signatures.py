"""S6: ECDSA "psychic signatures" (CVE-2022-21449) and every malformed raw r||s.

r = s = 0, r or s in {0, 1, n-1, n}, the wrong length, a DER signature instead of the
JWS raw r||s, and trailing bytes are all refused, for every ECDSA algorithm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from hostile import CLAIMS, POLICY, rejected, seg

from tokensmith.jose import JWK, jws, jwt
from tokensmith.jose.algorithms import SIGNING_ALGORITHMS
from tokensmith.jose.encoding import b64url_decode, b64url_encode

# Group orders (SEC 2 / FIPS 186-4), and the raw size of r and s.
CURVES = {
    "ES256": (
        ec.SECP256R1(),
        0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
        32,
    ),
    "ES384": (
        ec.SECP384R1(),
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF581A0DB248B0A77AECEC196ACCC52973,
        48,
    ),
    "ES512": (
        ec.SECP521R1(),
        0x01FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA51868783BF2F966B7FCC0148F709A5D03BB5C9B8899C47AEBB6FB71E91386409,
        66,
    ),
    "ES256K": (
        ec.SECP256K1(),
        0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141,
        32,
    ),
}


@pytest.fixture(scope="module")
def keys() -> dict[str, JWK]:
    return {alg: JWK.generate(alg, kid=alg) for alg in CURVES}


def _signed(key: JWK, alg: str) -> tuple[str, bytes]:
    """A genuine token, and its raw r||s."""
    token = jwt.encode(CLAIMS, key, alg=alg)
    return token, b64url_decode(token.split(".")[2])


def _with_signature(token: str, signature: bytes) -> str:
    header, payload, _ = token.split(".")
    return f"{header}.{payload}.{b64url_encode(signature)}"


def _assert_refused(token: str, key: JWK) -> None:
    with rejected("jws_invalid_signature"):
        jwt.decode(token, key.public(), policy=POLICY)
    with rejected("jws_invalid_signature"):
        jws.verify(token, key.public())
    header, payload, signature = token.split(".")
    with rejected("jws_invalid_signature"):
        jws.verify_json({"protected": header, "payload": payload, "signature": signature}, key)


@pytest.mark.parametrize("alg", CURVES)
def test_s6_group_orders_are_right(alg: str) -> None:
    """The constants below are the real orders: n is out of range, n-1 is not."""
    curve, n, _ = CURVES[alg]
    ec.derive_private_key(n - 1, curve)
    with pytest.raises(ValueError, match=r"range|invalid|private"):
        ec.derive_private_key(n, curve)


@pytest.mark.parametrize("alg", CURVES)
def test_s6_genuine_signature_verifies(alg: str, keys: dict[str, JWK]) -> None:
    token, raw = _signed(keys[alg], alg)
    assert len(raw) == 2 * CURVES[alg][2]
    assert jwt.decode(token, keys[alg].public(), policy=POLICY).claims == CLAIMS


@pytest.mark.parametrize("alg", CURVES)
def test_s6_psychic_signature_r_s_zero_rejected(alg: str, keys: dict[str, JWK]) -> None:
    token, _ = _signed(keys[alg], alg)
    size = CURVES[alg][2]
    _assert_refused(_with_signature(token, bytes(2 * size)), keys[alg])
    # The Java CVE's exact bytes: DER SEQUENCE { INTEGER 0, INTEGER 0 }.
    _assert_refused(_with_signature(token, encode_dss_signature(0, 0)), keys[alg])


@pytest.mark.parametrize("alg", CURVES)
def test_s6_edge_values_of_r_and_s_rejected(alg: str, keys: dict[str, JWK]) -> None:
    token, raw = _signed(keys[alg], alg)
    _, n, size = CURVES[alg]
    good_r, good_s = raw[:size], raw[size:]
    edges = [0, 1, n - 1, n]
    cases = [(r.to_bytes(size, "big"), s.to_bytes(size, "big")) for r in edges for s in edges]
    for edge in edges:
        cases.append((edge.to_bytes(size, "big"), good_s))
        cases.append((good_r, edge.to_bytes(size, "big")))
    # r + n or s + n, when it still fits the field (always for P-521's 66 bytes): the
    # classic range-check miss that makes a second valid-looking signature.
    for part, other, first in ((good_r, good_s, True), (good_s, good_r, False)):
        shifted = int.from_bytes(part, "big") + n
        if shifted.bit_length() <= 8 * size:
            moved = shifted.to_bytes(size, "big")
            cases.append((moved, other) if first else (other, moved))
    for r, s in cases:
        _assert_refused(_with_signature(token, r + s), keys[alg])


@pytest.mark.parametrize("alg", CURVES)
def test_s6_wrong_length_der_and_trailing_bytes_rejected(alg: str, keys: dict[str, JWK]) -> None:
    token, raw = _signed(keys[alg], alg)
    size = CURVES[alg][2]
    r = int.from_bytes(raw[:size], "big")
    s = int.from_bytes(raw[size:], "big")
    variants = {
        "empty": b"",
        "one byte short": raw[:-1],
        "r only": raw[:size],
        "leading zero byte": b"\x00" + raw,
        "trailing zero byte": raw + b"\x00",
        "trailing bytes": raw + b"\x01\x02",
        "doubled": raw + raw,
        "DER instead of raw": encode_dss_signature(r, s),
        "DER plus trailing bytes": encode_dss_signature(r, s) + b"\x00",
        "r and s padded to one more byte each": b"\x00" + raw[:size] + b"\x00" + raw[size:],
        "r and s swapped": raw[size:] + raw[:size],
    }
    for name, signature in variants.items():
        assert signature != raw, name
        _assert_refused(_with_signature(token, signature), keys[alg])


WYCHEPROOF_P1363 = {
    "ES256": "ecdsa_secp256r1_sha256_p1363_test.json",
    "ES384": "ecdsa_secp384r1_sha384_p1363_test.json",
    "ES512": "ecdsa_secp521r1_sha512_p1363_test.json",
}


@pytest.mark.parametrize("alg", WYCHEPROOF_P1363)
def test_s6_wycheproof_p1363_invalid_signatures_rejected(alg: str, vectors_dir: Path) -> None:
    """Every Wycheproof raw r||s vector: ``invalid`` refused, ``valid`` accepted, by the
    same primitive JWS verification uses."""
    data = json.loads((vectors_dir / "wycheproof" / WYCHEPROOF_P1363[alg]).read_text())
    algorithm = SIGNING_ALGORITHMS[alg]
    checked = {"valid": 0, "invalid": 0}
    for group in data["testGroups"]:
        key = JWK.from_der(bytes.fromhex(group["publicKeyDer"]))
        for case in group["tests"]:
            result = algorithm.verify(
                key.public_key_object, bytes.fromhex(case["msg"]), bytes.fromhex(case["sig"])
            )
            if case["result"] in checked:
                assert result is (case["result"] == "valid"), case["tcId"]
                checked[case["result"]] += 1
    assert checked["invalid"] > 0
    assert checked["valid"] > 0


def test_s6_header_cannot_choose_a_weaker_curve(keys: dict[str, JWK]) -> None:
    """A P-256 key never verifies an ES384/ES512 token (the key decides the family)."""
    token = jwt.encode(CLAIMS, keys["ES384"])
    _header, payload, signature = token.split(".")
    for alg in ("ES384", "ES512", "ES256K"):
        forged = f"{seg({'alg': alg})}.{payload}.{signature}"
        with rejected("jwk_not_usable"):
            jwt.decode(forged, keys["ES256"].public(), policy=POLICY)

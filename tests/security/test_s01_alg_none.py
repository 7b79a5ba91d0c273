"""S1: ``alg: none`` in any spelling is never accepted, whatever the signature."""

from __future__ import annotations

import pytest
from hostile import CLAIMS, POLICY, rejected, seg

from tokensmith.jose import JWK, ClaimsPolicy, JWKSet, jws, jwt
from tokensmith.jose.encoding import b64url_encode

NONE_SPELLINGS = ["none", "None", "NONE", "nOnE"]
# A signature segment that is empty, junk, or a real-looking HMAC tag.
SIGNATURES = {"empty": "", "junk": "AAAA", "tag-sized": b64url_encode(b"\x01" * 32)}


def _keys(hs256: JWK, rs256: JWK) -> list[object]:
    return [hs256, rs256.public(), JWKSet([hs256, rs256.public()])]


@pytest.mark.parametrize("alg", NONE_SPELLINGS)
@pytest.mark.parametrize("signature", SIGNATURES.values(), ids=SIGNATURES.keys())
def test_s1_alg_none_rejected_by_jwt_decode(
    alg: str, signature: str, hs256: JWK, rs256: JWK
) -> None:
    token = f"{seg({'alg': alg, 'typ': 'JWT'})}.{seg(CLAIMS)}.{signature}"
    for keys in _keys(hs256, rs256):
        with rejected("jose_alg_not_allowed"):
            jwt.decode(token, keys, policy=POLICY)  # type: ignore[arg-type]


@pytest.mark.parametrize("alg", NONE_SPELLINGS)
@pytest.mark.parametrize("signature", SIGNATURES.values(), ids=SIGNATURES.keys())
def test_s1_alg_none_rejected_by_jws_verify(
    alg: str, signature: str, hs256: JWK, rs256: JWK
) -> None:
    token = f"{seg({'alg': alg})}.{seg(b'payload')}.{signature}"
    for keys in _keys(hs256, rs256):
        with rejected("jose_alg_not_allowed"):
            jws.verify(token, keys)  # type: ignore[arg-type]


@pytest.mark.parametrize("alg", NONE_SPELLINGS)
def test_s1_alg_none_with_missing_signature_segment_rejected(alg: str, hs256: JWK) -> None:
    """The unsecured-JWS shape with the last segment dropped entirely."""
    token = f"{seg({'alg': alg})}.{seg(CLAIMS)}"
    with rejected("jose_malformed"):
        jwt.decode(token, hs256, policy=POLICY)
    with rejected("jose_malformed"):
        jws.verify(token, hs256)


@pytest.mark.parametrize("alg", NONE_SPELLINGS)
@pytest.mark.parametrize("signature", SIGNATURES.values(), ids=SIGNATURES.keys())
def test_s1_alg_none_rejected_by_verify_json(
    alg: str, signature: str, hs256: JWK, rs256: JWK
) -> None:
    payload = seg(b"payload")
    flattened_protected = {
        "payload": payload,
        "protected": seg({"alg": alg}),
        "signature": signature,
    }
    flattened_unprotected = {"payload": payload, "header": {"alg": alg}, "signature": signature}
    general = {
        "payload": payload,
        "signatures": [{"protected": seg({"alg": alg}), "signature": signature}],
    }
    for obj in (flattened_protected, flattened_unprotected, general):
        for keys in _keys(hs256, rs256):
            with rejected("jose_alg_not_allowed"):
                jws.verify_json(obj, keys)  # type: ignore[arg-type]


@pytest.mark.parametrize("alg", NONE_SPELLINGS)
def test_s1_alg_none_with_missing_signature_member_rejected_by_verify_json(
    alg: str, hs256: JWK
) -> None:
    obj = {"payload": seg(b"payload"), "protected": seg({"alg": alg})}
    with rejected("jws_malformed"):
        jws.verify_json(obj, hs256)


@pytest.mark.parametrize("alg", NONE_SPELLINGS)
def test_s1_none_cannot_be_put_in_an_allow_list(alg: str, hs256: JWK) -> None:
    """Caller mistakes fail at once with ValueError, never a silent acceptance."""
    token = f"{seg({'alg': alg})}.{seg(CLAIMS)}."
    with pytest.raises(ValueError, match="none"):
        ClaimsPolicy(algorithms=[alg], now=lambda: 0)
    with pytest.raises(ValueError, match="none"):
        jws.verify(token, hs256, algorithms=[alg])
    with pytest.raises(ValueError, match="none"):
        jws.verify_json(
            {"payload": "", "protected": seg({"alg": alg}), "signature": ""},
            hs256,
            algorithms=[alg],
        )

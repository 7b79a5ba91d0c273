"""S11: ``crit`` is never ignored (Authlib CVE-2025-59420), and RFC 7797 ``b64`` is
honoured only when protected and listed in ``crit``, and never in a JWT."""

from __future__ import annotations

from typing import Any

import pytest
from hostile import CLAIMS, POLICY, forge, raw_sign, rejected, seg

from tokensmith.jose import JWK, jws, jwt
from tokensmith.jose.encoding import b64url_encode

BAD_CRIT: dict[str, dict[str, Any]] = {
    "unknown name": {"crit": ["x-unknown"], "x-unknown": 1},
    "empty": {"crit": []},
    "registered alg": {"crit": ["alg"]},
    "registered kid": {"crit": ["kid"], "kid": "hs"},
    "registered typ": {"crit": ["typ"], "typ": "JWT"},
    "registered jku": {"crit": ["jku"], "jku": "https://example.com"},
    "duplicate understood name": {"crit": ["x-ok", "x-ok"], "x-ok": 1},
    "duplicate b64": {"crit": ["b64", "b64"], "b64": True},
    "name missing from header": {"crit": ["x-ok"]},
    "not an array": {"crit": "x-ok", "x-ok": 1},
    "object": {"crit": {"x-ok": 1}, "x-ok": 1},
    "null": {"crit": None},
    "non-string entry": {"crit": [1]},
    "nested array entry": {"crit": [["x-ok"]], "x-ok": 1},
    "understood plus unknown": {"crit": ["x-ok", "x-unknown"], "x-ok": 1, "x-unknown": 1},
}


@pytest.mark.parametrize("case", BAD_CRIT, ids=BAD_CRIT)
def test_s11_bad_crit_rejected_in_compact_jws_and_jwt(case: str, hs256: JWK) -> None:
    header = {"alg": "HS256", **BAD_CRIT[case]}
    jws_token = forge(header, b"payload", hs256)
    with rejected("jws_crit_unsupported"):
        jws.verify(jws_token, hs256, understood_crit=["x-ok"])
    jwt_token = forge({**header, "typ": header.get("typ", "JWT")}, CLAIMS, hs256)
    # b64 is refused in a JWT before crit is even read.
    with rejected("jwt_malformed" if "b64" in header else "jws_crit_unsupported"):
        jwt.decode(jwt_token, hs256, policy=POLICY, understood_crit=["x-ok"])


@pytest.mark.parametrize("case", BAD_CRIT, ids=BAD_CRIT)
def test_s11_bad_crit_rejected_in_json_serialization(case: str, hs256: JWK) -> None:
    header = {"alg": "HS256", **BAD_CRIT[case]}
    token = forge(header, b"payload", hs256)
    protected, payload, signature = token.split(".")
    obj = {"protected": protected, "payload": payload, "signature": signature}
    with rejected("jws_crit_unsupported"):
        jws.verify_json(obj, hs256, understood_crit=["x-ok"])


def test_s11_understood_crit_is_accepted(hs256: JWK) -> None:
    """Control: the same shape with a name the caller processes verifies."""
    header = {"alg": "HS256", "crit": ["x-ok"], "x-ok": 1}
    assert jws.verify(forge(header, b"p", hs256), hs256, understood_crit=["x-ok"]).payload == b"p"
    token = forge({**header, "typ": "JWT"}, CLAIMS, hs256)
    assert jwt.decode(token, hs256, policy=POLICY, understood_crit=["x-ok"]).claims == CLAIMS
    # ...but not when the caller does not say it understands the name.
    with rejected("jws_crit_unsupported"):
        jwt.decode(token, hs256, policy=POLICY)


@pytest.mark.parametrize(
    ("protected", "unprotected"),
    [
        ({"alg": "HS256", "x-ok": 1}, {"crit": ["x-ok"]}),
        ({"alg": "HS256"}, {"crit": ["x-ok"], "x-ok": 1}),
        ({"alg": "HS256"}, {"crit": ["x-unknown"]}),
        ({"alg": "HS256"}, {"crit": []}),
    ],
)
def test_s11_crit_outside_protected_header_rejected(
    protected: dict[str, Any], unprotected: dict[str, Any], hs256: JWK
) -> None:
    token = forge(protected, b"payload", hs256)
    header_b64, payload, signature = token.split(".")
    flattened = {
        "protected": header_b64,
        "header": unprotected,
        "payload": payload,
        "signature": signature,
    }
    with rejected("jws_crit_unsupported"):
        jws.verify_json(flattened, hs256, understood_crit=["x-ok"])
    general = {
        "payload": payload,
        "signatures": [{"protected": header_b64, "header": unprotected, "signature": signature}],
    }
    with rejected("jws_crit_unsupported"):
        jws.verify_json(general, hs256, understood_crit=["x-ok"])


# ---- RFC 7797 b64 ------------------------------------------------------------------


def _unencoded(header: dict[str, Any], payload: bytes, key: JWK) -> str:
    """A compact JWS over the unencoded payload, signed whatever the header says."""
    head = seg(header)
    signature = raw_sign(header["alg"], key, head.encode() + b"." + payload)
    return f"{head}.{payload.decode()}.{b64url_encode(signature)}"


def test_s11_b64_false_protected_and_critical_accepted(hs256: JWK) -> None:
    """Control: the one correct form verifies, over the raw payload."""
    token = jws.sign(b"$.02", hs256, header={"b64": False, "crit": ["b64"]}, detached=True)
    assert jws.verify(token, hs256, detached_payload=b"$.02").payload == b"$.02"
    token = _unencoded({"alg": "HS256", "b64": False, "crit": ["b64"]}, b"raw-payload", hs256)
    assert jws.verify(token, hs256).payload == b"raw-payload"


def test_s11_b64_false_without_crit_rejected(hs256: JWK) -> None:
    token = _unencoded({"alg": "HS256", "b64": False}, b"raw-payload", hs256)
    with rejected("jws_crit_unsupported"):
        jws.verify(token, hs256)
    protected, payload, signature = token.split(".")
    with rejected("jws_crit_unsupported"):
        jws.verify_json({"protected": protected, "payload": payload, "signature": signature}, hs256)


def test_s11_b64_in_unprotected_header_rejected(hs256: JWK) -> None:
    token = _unencoded({"alg": "HS256"}, b"raw-payload", hs256)
    protected, payload, signature = token.split(".")
    for unprotected in ({"b64": False}, {"b64": True}):
        obj = {
            "protected": protected,
            "header": unprotected,
            "payload": payload,
            "signature": signature,
        }
        with rejected("jws_crit_unsupported"):
            jws.verify_json(obj, hs256)


@pytest.mark.parametrize("value", ["false", 0, None, [], {}])
def test_s11_b64_not_a_boolean_rejected(value: Any, hs256: JWK) -> None:
    token = forge({"alg": "HS256", "b64": value, "crit": ["b64"]}, b"payload", hs256)
    with rejected("jws_malformed"):
        jws.verify(token, hs256)


@pytest.mark.parametrize("b64", [False, True])
def test_s11_b64_never_in_a_jwt(b64: bool, hs256: JWK) -> None:
    header = {"alg": "HS256", "typ": "JWT", "b64": b64, "crit": ["b64"]}
    with rejected("jwt_malformed"):
        jwt.decode(forge(header, CLAIMS, hs256), hs256, policy=POLICY)
    with rejected("jwt_malformed"):
        jwt.decode(forge({"alg": "HS256", "b64": b64}, CLAIMS, hs256), hs256, policy=POLICY)
    with pytest.raises(ValueError, match="b64"):
        jwt.encode(CLAIMS, hs256, header={"b64": b64, "crit": ["b64"]})

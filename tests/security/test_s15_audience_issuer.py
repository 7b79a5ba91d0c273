"""S15: ``aud`` / ``iss`` / ``sub`` type confusion (jwt-go CVE-2020-26160)."""

from __future__ import annotations

from typing import Any

import pytest
from hostile import LATER, POLICY, forge, rejected

from tokensmith.jose import JWK, ClaimsPolicy, jwt

AUDIENCE = ClaimsPolicy(audience="x", now=POLICY.now)


def _decode(claims: dict[str, Any], key: JWK, policy: ClaimsPolicy = AUDIENCE) -> Any:
    token = forge({"alg": "HS256", "typ": "JWT"}, {"exp": LATER, **claims}, key)
    return jwt.decode(token, key, policy=policy).claims


@pytest.mark.parametrize("aud", ["x", ["x"], ["y", "x"], ["x", "x"]], ids=repr)
def test_s15_audience_accepted(aud: Any, hs256: JWK) -> None:
    assert _decode({"aud": aud}, hs256)["aud"] == aud


@pytest.mark.parametrize(
    ("aud", "code"),
    [
        ([], "jwt_invalid_claim"),
        (["y"], "jwt_invalid_audience"),
        ("y", "jwt_invalid_audience"),
        ("X", "jwt_invalid_audience"),
        ("x ", "jwt_invalid_audience"),
        ("", "jwt_invalid_audience"),
        ({"x": True}, "jwt_invalid_claim"),
        ({}, "jwt_invalid_claim"),
        (1, "jwt_invalid_claim"),
        (0, "jwt_invalid_claim"),
        (True, "jwt_invalid_claim"),
        (None, "jwt_invalid_claim"),
        ([1], "jwt_invalid_claim"),
        (["x", 1], "jwt_invalid_claim"),
        (["x", None], "jwt_invalid_claim"),
        ([["x"]], "jwt_invalid_claim"),
        ([{"x": 1}], "jwt_invalid_claim"),
    ],
    ids=repr,
)
def test_s15_audience_rejected(aud: Any, code: str, hs256: JWK) -> None:
    with rejected(code):
        _decode({"aud": aud}, hs256)


def test_s15_missing_audience_rejected_when_expected(hs256: JWK) -> None:
    with rejected("jwt_missing_claim"):
        _decode({}, hs256)


def test_s15_token_with_audience_rejected_when_policy_names_none(hs256: JWK) -> None:
    with rejected("jwt_invalid_audience"):
        _decode({"aud": "x"}, hs256, POLICY)


ISSUER = ClaimsPolicy(issuer="https://id.example", subject="u1", now=POLICY.now)


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": ["https://id.example"], "sub": "u1"},
        {"iss": {"https://id.example": 1}, "sub": "u1"},
        {"iss": 1, "sub": "u1"},
        {"iss": "https://id.example", "sub": ["u1"]},
        {"iss": "https://id.example", "sub": {"u1": 1}},
        {"iss": "https://id.example", "sub": 1},
        {"iss": "https://id.example", "sub": "u1", "jti": ["a"]},
    ],
    ids=repr,
)
def test_s15_iss_sub_jti_of_wrong_type_rejected(claims: dict[str, Any], hs256: JWK) -> None:
    with rejected("jwt_invalid_claim"):
        _decode(claims, hs256, ISSUER)
    # Refused even when the policy does not ask about them.
    with rejected("jwt_invalid_claim"):
        _decode(claims, hs256, POLICY)


def test_s15_issuer_and_subject_checked(hs256: JWK) -> None:
    assert _decode({"iss": "https://id.example", "sub": "u1"}, hs256, ISSUER)["sub"] == "u1"
    with rejected("jwt_invalid_issuer"):
        _decode({"iss": "https://evil.example", "sub": "u1"}, hs256, ISSUER)
    with rejected("jwt_missing_claim"):
        _decode({"sub": "u1"}, hs256, ISSUER)
    with rejected("jwt_invalid_subject"):
        _decode({"iss": "https://id.example", "sub": "u2"}, hs256, ISSUER)

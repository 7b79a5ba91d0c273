"""Unit tests of tokensmith.jose.claims: ClaimsPolicy construction errors and every
validation branch, with a fixed clock (never sleeps)."""

from __future__ import annotations

import pytest

from tokensmith.jose import ClaimsPolicy
from tokensmith.jose.errors import (
    ExpiredError,
    InvalidAudienceError,
    InvalidClaimError,
    InvalidIssuerError,
    InvalidSubjectError,
    InvalidTypeError,
    IssuedInFutureError,
    MissingClaimError,
    NotYetValidError,
    TooOldError,
)

NOW = 1_700_000_000


def clock() -> float:
    return NOW


@pytest.mark.parametrize("field", ["issuer", "audience"])
def test_regression_empty_string_issuer_or_audience_refused_at_construction(field: str) -> None:
    """``ClaimsPolicy(issuer="")`` was accepted and then matched only tokens whose ``iss``
    was the empty string, while ``issuer=[""]`` was refused: an empty expected value is a
    caller mistake and now fails when the policy is built."""
    with pytest.raises(ValueError, match="empty"):
        ClaimsPolicy(**{field: ""}, now=clock)  # type: ignore[arg-type]


def test_issuer_policy_refuses_empty_iss() -> None:
    policy = ClaimsPolicy(issuer="https://id.example", required=(), now=clock)
    with pytest.raises(InvalidIssuerError):
        policy.validate({"iss": ""})


def policy(**kwargs: object) -> ClaimsPolicy:
    kwargs.setdefault("required", ())
    return ClaimsPolicy(now=clock, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"leeway": -1}, ValueError),
        ({"leeway": 301}, ValueError),
        ({"leeway": float("nan")}, TypeError),
        ({"leeway": True}, TypeError),
        ({"leeway": "5"}, TypeError),
        ({"max_age": 0}, ValueError),
        ({"max_age": float("inf")}, ValueError),
        ({"max_age": True}, TypeError),
        ({"algorithms": "HS256"}, TypeError),
        ({"algorithms": []}, ValueError),
        ({"algorithms": ["none"]}, ValueError),
        ({"algorithms": ["HS999"]}, ValueError),
        ({"issuer": []}, TypeError),
        ({"audience": ["ok", ""]}, TypeError),
        ({"audience": [5]}, TypeError),
        ({"subject": 5}, TypeError),
        ({"required": "exp"}, TypeError),
        ({"typ": ""}, TypeError),
        ({"now": 5}, TypeError),
        ({"limits": {}}, TypeError),
    ],
    ids=repr,
)
def test_construction_errors_are_caller_errors(
    kwargs: dict[str, object], error: type[Exception]
) -> None:
    with pytest.raises(error):
        ClaimsPolicy(**kwargs)  # type: ignore[arg-type]


def test_policy_is_frozen() -> None:
    p = policy(issuer="a")
    assert p.issuer == ("a",)
    with pytest.raises(AttributeError):
        p.leeway = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("exp", "leeway", "ok"),
    [
        (NOW + 1, 0, True),
        (NOW, 0, False),
        (NOW - 1, 0, False),
        (NOW - 10, 10, False),
        (NOW - 9, 10, True),
    ],
)
def test_exp_boundaries(exp: int, leeway: int, ok: bool) -> None:
    """RFC 7519 §4.1.4: not accepted on or after exp (+ leeway)."""
    p = policy(leeway=leeway)
    if ok:
        p.validate({"exp": exp})
    else:
        with pytest.raises(ExpiredError) as info:
            p.validate({"exp": exp})
        assert info.value.code == "jwt_expired"


@pytest.mark.parametrize(
    ("nbf", "leeway", "ok"),
    [(NOW, 0, True), (NOW + 1, 0, False), (NOW + 10, 10, True), (NOW + 11, 10, False)],
)
def test_nbf_boundaries(nbf: int, leeway: int, ok: bool) -> None:
    p = policy(leeway=leeway)
    if ok:
        p.validate({"nbf": nbf})
    else:
        with pytest.raises(NotYetValidError):
            p.validate({"nbf": nbf})


@pytest.mark.parametrize(
    ("iat", "leeway", "ok"),
    [(NOW, 0, True), (NOW + 1, 0, False), (NOW + 5, 5, True), (NOW + 6, 5, False)],
)
def test_iat_in_the_future(iat: int, leeway: int, ok: bool) -> None:
    p = policy(leeway=leeway)
    if ok:
        p.validate({"iat": iat})
    else:
        with pytest.raises(IssuedInFutureError):
            p.validate({"iat": iat})


def test_max_age() -> None:
    p = policy(max_age=60)
    p.validate({"iat": NOW - 60})
    with pytest.raises(TooOldError):
        p.validate({"iat": NOW - 61})
    policy(max_age=60, leeway=5).validate({"iat": NOW - 65})
    with pytest.raises(MissingClaimError):
        p.validate({})


def test_fractional_dates_accepted() -> None:
    policy().validate({"exp": NOW + 0.5, "nbf": NOW - 0.5, "iat": NOW - 0.5})
    with pytest.raises(ExpiredError):
        policy().validate({"exp": NOW - 0.5})


@pytest.mark.parametrize(
    "value", ["1", True, None, float("nan"), float("inf"), -1, 10**20, [1], {"a": 1}]
)
@pytest.mark.parametrize("name", ["exp", "nbf", "iat"])
def test_s14_date_claim_types_rejected(name: str, value: object) -> None:
    with pytest.raises(InvalidClaimError):
        policy().validate({name: value})


def test_required_claims() -> None:
    p = policy(required=("exp", "jti"))
    with pytest.raises(MissingClaimError):
        p.validate({"exp": NOW + 5})
    p.validate({"exp": NOW + 5, "jti": "x"})
    with pytest.raises(MissingClaimError):
        ClaimsPolicy(now=clock).validate({})  # exp is required by default


def test_issuer_single_and_list() -> None:
    policy(issuer="a").validate({"iss": "a"})
    policy(issuer=["a", "b"]).validate({"iss": "b"})
    with pytest.raises(InvalidIssuerError):
        policy(issuer=["a", "b"]).validate({"iss": "c"})
    with pytest.raises(MissingClaimError):
        policy(issuer="a").validate({})
    with pytest.raises(InvalidClaimError):
        policy(issuer="a").validate({"iss": ["a"]})  # S15


def test_subject() -> None:
    policy(subject="u1").validate({"sub": "u1"})
    with pytest.raises(InvalidSubjectError):
        policy(subject="u1").validate({"sub": "u2"})
    with pytest.raises(InvalidSubjectError):
        policy(subject="u1").validate({})
    with pytest.raises(InvalidClaimError):
        policy().validate({"sub": ["u1"]})


@pytest.mark.parametrize(
    ("aud", "ok"),
    [("api", True), (["api"], True), (["x", "api"], True), (["x"], False), ("x", False)],
)
def test_s15_audience(aud: object, ok: bool) -> None:
    p = policy(audience=["api", "api2"])
    if ok:
        p.validate({"aud": aud})
    else:
        with pytest.raises(InvalidAudienceError):
            p.validate({"aud": aud})


@pytest.mark.parametrize("aud", [[], [5], {"a": "api"}, 5, None, ["api", 5]])
def test_s15_audience_malformed(aud: object) -> None:
    with pytest.raises(InvalidClaimError):
        policy(audience="api").validate({"aud": aud})


def test_audience_missing_or_unexpected() -> None:
    with pytest.raises(MissingClaimError):
        policy(audience="api").validate({})
    # A token naming an audience is refused by a policy that names none (RFC 7519 §4.1.3).
    with pytest.raises(InvalidAudienceError):
        policy().validate({"aud": "api"})
    policy().validate({})


@pytest.mark.parametrize(
    ("expected", "header_typ", "ok"),
    [
        ("at+jwt", "at+jwt", True),
        ("at+jwt", "application/at+jwt", True),  # RFC 7515 §4.1.9
        ("application/at+jwt", "at+jwt", True),
        ("at+jwt", "AT+JWT", True),
        ("at+jwt", "JWT", False),
        ("at+jwt", None, False),
        ("at+jwt", 5, False),
        (None, "anything", True),
        (None, None, True),
        (None, 5, False),
    ],
)
def test_check_typ(expected: str | None, header_typ: object, ok: bool) -> None:
    header = {"alg": "ES256"} if header_typ is None else {"alg": "ES256", "typ": header_typ}
    p = policy(typ=expected)
    if ok:
        p.check_typ(header)
    else:
        with pytest.raises(InvalidTypeError):
            p.check_typ(header)


def test_clock_is_called_per_validation() -> None:
    times = iter([NOW, NOW + 100])
    p = ClaimsPolicy(required=(), now=lambda: next(times))
    p.validate({"exp": NOW + 50})
    with pytest.raises(ExpiredError):
        p.validate({"exp": NOW + 50})

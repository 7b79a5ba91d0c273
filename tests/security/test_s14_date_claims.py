"""S14: date claims (exp/nbf/iat) must be finite, non-negative numbers; anything else
is refused, finite numbers are accepted, and leeway is bounded. Claims are written as
raw JSON text so NaN/Infinity can be tried exactly as an attacker would send them."""

from __future__ import annotations

import pytest
from hostile import NOW, POLICY, forge, rejected

from tokensmith.jose import JWK, ClaimsPolicy, jwt

HOSTILE_VALUES = {
    "string": ('"1700003600"', "jwt_invalid_claim"),
    "numeric string with spaces": ('" 1700003600 "', "jwt_invalid_claim"),
    "true": ("true", "jwt_invalid_claim"),
    "false": ("false", "jwt_invalid_claim"),
    "null": ("null", "jwt_invalid_claim"),
    "array": ("[1700003600]", "jwt_invalid_claim"),
    "object": ('{"t":1700003600}', "jwt_invalid_claim"),
    "NaN": ("NaN", "jose_bad_json"),
    "Infinity": ("Infinity", "jose_bad_json"),
    "-Infinity": ("-Infinity", "jose_bad_json"),
    "float overflowing to inf": ("1e400", "jose_bad_json"),  # refused like Infinity
    "huge integer": ("1" + "0" * 30, "jwt_invalid_claim"),
    "past year 9999": ("253402300800", "jwt_invalid_claim"),
    "4300-digit integer": ("9" * 4300, "jwt_invalid_claim"),
    "integer too long to parse": ("9" * 5000, "jose_bad_json"),
    "negative": ("-1", "jwt_invalid_claim"),
    "negative float": ("-0.5", "jwt_invalid_claim"),
    "very negative": ("-1e300", "jwt_invalid_claim"),
}
LATER = NOW + 3600
BASE = {"exp": str(LATER), "nbf": str(NOW - 60), "iat": str(NOW - 60)}


def _claims_text(**overrides: str) -> str:
    members = {**BASE, **overrides}
    return "{" + ",".join(f'"{k}":{v}' for k, v in members.items()) + ',"sub":"u1"}'


@pytest.mark.parametrize("claim", ["exp", "nbf", "iat"])
@pytest.mark.parametrize("case", HOSTILE_VALUES, ids=HOSTILE_VALUES)
def test_s14_hostile_date_claim_rejected(claim: str, case: str, hs256: JWK) -> None:
    raw, code = HOSTILE_VALUES[case]
    token = forge({"alg": "HS256", "typ": "JWT"}, _claims_text(**{claim: raw}), hs256)
    with rejected(code):
        jwt.decode(token, hs256, policy=POLICY)
    # Even with generous leeway and no required claims.
    lenient = ClaimsPolicy(now=POLICY.now, leeway=300, required=())
    with rejected(code):
        jwt.decode(token, hs256, policy=lenient)


@pytest.mark.parametrize(
    "values",
    [
        {"exp": str(LATER), "nbf": str(NOW), "iat": str(NOW)},
        {"exp": f"{LATER}.5", "nbf": f"{NOW - 1}.25", "iat": "0"},
        {"exp": "1.7000036e9", "nbf": "0.0", "iat": "1e9"},
        {"exp": "253402300799", "nbf": "1", "iat": str(NOW)},
    ],
)
def test_s14_finite_numbers_accepted(values: dict[str, str], hs256: JWK) -> None:
    token = forge({"alg": "HS256"}, _claims_text(**values), hs256)
    claims = jwt.decode(token, hs256, policy=POLICY).claims
    assert claims["exp"] == float(values["exp"])


def test_s14_exp_null_is_a_jose_error_not_a_crash(hs256: JWK) -> None:
    """The PyJWT bug: ``{"exp": null}`` must end in our error tree."""
    token = forge({"alg": "HS256"}, '{"exp":null}', hs256)
    with rejected("jwt_invalid_claim"):
        jwt.decode(token, hs256, policy=POLICY)


def test_s14_time_boundaries_with_fixed_clock(hs256: JWK) -> None:
    def decode(claims: str, leeway: float = 0) -> object:
        token = forge({"alg": "HS256"}, claims, hs256)
        return jwt.decode(token, hs256, policy=ClaimsPolicy(now=POLICY.now, leeway=leeway))

    with rejected("jwt_expired"):
        decode(f'{{"exp":{NOW}}}')
    decode(f'{{"exp":{NOW + 1}}}')
    with rejected("jwt_expired"):
        decode(f'{{"exp":{NOW - 10}}}', leeway=10)
    decode(f'{{"exp":{NOW - 10}}}', leeway=11)
    with rejected("jwt_not_yet_valid"):
        decode(f'{{"exp":{LATER},"nbf":{NOW + 1}}}')
    decode(f'{{"exp":{LATER},"nbf":{NOW + 1}}}', leeway=1)
    with rejected("jwt_iat_in_future"):
        decode(f'{{"exp":{LATER},"iat":{NOW + 5}}}')
    with rejected("jwt_missing_claim"):
        decode('{"sub":"u1"}')


@pytest.mark.parametrize("leeway", [-1, -0.001, 300.001, 301, 10**6])
def test_s14_leeway_out_of_bounds_refused_when_policy_is_built(leeway: float) -> None:
    with pytest.raises(ValueError, match="leeway"):
        ClaimsPolicy(leeway=leeway, now=POLICY.now)


@pytest.mark.parametrize("leeway", [float("nan"), float("inf"), True, "5", None])
def test_s14_leeway_of_wrong_type_refused(leeway: object) -> None:
    with pytest.raises(TypeError, match="leeway"):
        ClaimsPolicy(leeway=leeway, now=POLICY.now)  # type: ignore[arg-type]


@pytest.mark.parametrize("leeway", [0, 0.5, 300])
def test_s14_leeway_within_bounds_accepted(leeway: float) -> None:
    assert ClaimsPolicy(leeway=leeway, now=POLICY.now).leeway == leeway

"""The verify/sign fast paths (issue 4) accept and refuse exactly what the checked
paths do: speed that drops a check does not count."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tokensmith.jose import jws, jwt
from tokensmith.jose.claims import MAX_NUMERIC_DATE, ClaimsPolicy
from tokensmith.jose.encoding import (
    DEFAULT_LIMITS,
    Limits,
    _b64url_decode_checked,
    b64url_decode,
    b64url_encode,
    dump_json,
    parse_json,
)
from tokensmith.jose.errors import JoseError, LimitExceededError, MalformedError
from tokensmith.jose.jwk import JWK

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _outcome(fn, *args):
    try:
        return ("ok", fn(*args))
    except MalformedError as exc:
        return ("err", exc.code)


@given(st.text(alphabet=_ALPHABET + "+/= \n\t.!é\x00", max_size=40))
def test_s13_fast_base64url_decode_agrees_with_checked_path(text: str) -> None:
    assert _outcome(b64url_decode, text) == _outcome(_b64url_decode_checked, text, "segment")
    raw = text.encode("utf-8")
    assert _outcome(b64url_decode, raw) == _outcome(_b64url_decode_checked, raw, "segment")


@given(st.binary(max_size=64))
def test_base64url_round_trip_matches_the_standard_library(data: bytes) -> None:
    encoded = b64url_encode(data)
    assert encoded == base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")
    assert b64url_decode(encoded) == data


@pytest.mark.parametrize(
    "segment",
    ["QQ==", "QQ=", "Q", "QR", "QUJ", "QU+D", "QU/D", " QUJD", "QUJD\n", "QUJD\x00", "QUJé"],
)
def test_s13_lax_base64url_refused_by_the_fast_path(segment: str) -> None:
    with pytest.raises(MalformedError) as info:
        b64url_decode(segment)
    assert info.value.code == "jose_bad_base64"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ('{"a":1,"a":2}', "jose_duplicate_member"),
        ('{"a":{"b":1,"b":1}}', "jose_duplicate_member"),
        ('{"a":NaN}', "jose_bad_json"),
        ('{"a":-Infinity}', "jose_bad_json"),
        ('{"a":"\\ud800"}', "jose_bad_json"),
        ('{"a":1} x', "jose_bad_json"),
        ('{"a":1}{}', "jose_bad_json"),
        ("", "jose_bad_json"),
        ("{", "jose_bad_json"),
    ],
)
def test_s12_s14_fast_json_path_keeps_every_refusal(text: str, code: str) -> None:
    with pytest.raises(MalformedError) as info:
        parse_json(text, max_size=1000, max_depth=8)
    assert info.value.code == code


_MEMBER_NAMES = ["a", "b", "a:", ":", 'x\\":']  # (JSON text of the names, before quoting)
_MEMBER_VALUES = [
    "1",
    '"v"',
    '"\\":"',
    '"a\\":1"',
    '"http://x"',
    "[1,2]",
    '["a","b"]',
    '{"a":1}',
    '"s p"',
]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    members=st.lists(
        st.tuples(st.sampled_from(_MEMBER_NAMES), st.sampled_from(_MEMBER_VALUES)), max_size=6
    ),
    space=st.sampled_from(["", " ", "\n", "\t", "\r"]),
    where=st.integers(min_value=0, max_value=3),
)
def test_s12_compact_json_path_agrees_with_the_duplicate_hook(
    members: list[tuple[str, str]], space: str, where: int
) -> None:
    """One object of compact JSON is read without the duplicate-name hook when its text
    proves no name repeats: the answer is always the hooked decoder's, repeated names
    (also hidden among '\\":' inside strings, or behind whitespace) included."""
    from tokensmith.jose.encoding import _DECODER

    parts = [f'"{name}"' + (space if where == 1 else "") + ":" + value for name, value in members]
    text = "{" + ("," + (space if where == 2 else "")).join(parts) + "}"
    if where == 3:
        text = text[:1] + space + text[1:]
    try:
        expected = ("ok", _DECODER.decode(text))
    except MalformedError as exc:
        expected = ("err", exc.code)
    assert _outcome(lambda: parse_json(text, max_size=1000, max_depth=8)) == expected


@pytest.mark.parametrize(
    "text", ['{"a":1,"a":2}', '{"a":1,"a":"\\":"}', '{"a":"\\":","a":1}', '{"a:":1,"a:":[1]}']
)
def test_s12_duplicates_in_compact_json_refused(text: str) -> None:
    with pytest.raises(MalformedError) as info:
        parse_json(text, max_size=1000, max_depth=8)
    assert info.value.code == "jose_duplicate_member"


def test_json_fast_path_still_accepts_surrounding_whitespace() -> None:
    assert parse_json(' \n{"a":[1]}\t', max_size=100, max_depth=8) == {"a": [1]}


def test_s22_json_depth_limit_kept() -> None:
    with pytest.raises(LimitExceededError):
        parse_json("[[[[1]]]]", max_size=100, max_depth=3)


def test_dump_json_is_compact_utf8_and_refuses_nan() -> None:
    assert dump_json({"a": "é", "b": [1, 2]}) == '{"a":"é","b":[1,2]}'.encode()
    with pytest.raises(ValueError, match="strict JSON"):
        dump_json({"a": float("nan")})
    assert json.loads(dump_json({"x": 1.5})) == {"x": 1.5}


# ---- the shared protected-header table (jws.parse_protected_shared) -------------------


def _hs256_token(header_extra: dict | None = None) -> tuple[str, JWK]:
    key = JWK.generate("HS256", kid="hot")
    return jwt.encode({"sub": "a", "exp": 4_000_000_000}, key, header=header_extra), key


def test_shared_header_is_read_only_so_callers_cannot_poison_the_next_decode() -> None:
    token, key = _hs256_token()
    first = jwt.decode(token, key)
    with pytest.raises(TypeError):
        first.header["alg"] = "none"  # type: ignore[index]
    with pytest.raises(TypeError):
        first.header.update(alg="none")  # type: ignore[attr-defined]
    second = jwt.decode(token, key)
    assert second.header == {"alg": "HS256", "kid": "hot", "typ": "JWT"}
    assert json.loads(json.dumps(second.header)) == dict(second.header)


def test_s22_shared_header_still_obeys_the_callers_limits() -> None:
    token, key = _hs256_token()
    jwt.decode(token, key)  # now in the table
    with pytest.raises(LimitExceededError):
        jws.verify(token, key, limits=Limits(max_header=10))


def test_s11_headers_with_arrays_are_not_shared() -> None:
    segment = b64url_encode(dump_json({"alg": "HS256", "crit": ["x"], "x": 1}))
    a = jws.parse_protected_shared(segment, DEFAULT_LIMITS)
    b = jws.parse_protected_shared(segment, DEFAULT_LIMITS)
    assert a == b
    assert a is not b
    a["crit"].append("y")  # type: ignore[index]
    assert jws.parse_protected_shared(segment, DEFAULT_LIMITS)["crit"] == ["x"]


def test_s12_duplicate_header_member_refused_on_the_shared_path() -> None:
    segment = b64url_encode(b'{"alg":"HS256","alg":"none"}')
    for _ in range(2):
        with pytest.raises(MalformedError) as info:
            jws.parse_protected_shared(segment, DEFAULT_LIMITS)
        assert info.value.code == "jose_duplicate_member"


def test_header_table_stays_bounded() -> None:
    for i in range(jws._HEADER_CACHE_MAX + 50):
        jws.parse_protected_shared(
            b64url_encode(dump_json({"alg": "HS256", "kid": str(i)})), DEFAULT_LIMITS
        )
    assert len(jws._HEADER_CACHE) <= jws._HEADER_CACHE_MAX


def test_decode_result_is_a_normal_frozen_verified_jwt() -> None:
    import dataclasses

    token, key = _hs256_token()
    result = jwt.decode(token, key)
    assert result == jwt.VerifiedJWT(header=result.header, claims=result.claims, key=key)
    assert result.claims["sub"] == "a"
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.key = key  # type: ignore[misc]
    assert dataclasses.replace(result, key=key).claims == result.claims


_SEGMENT_CHARS = _ALPHABET[:3] + _ALPHABET[-4:] + "+/= é"  # no "." (a segment has none)


def _segment_outcome(signature_b64: str, payload_b64: str, limits: Limits) -> str:
    """What the planned path must answer for these two segments, from the checked
    decoders: the signature segment first, then the claims' size, then their base64url."""
    try:
        _b64url_decode_checked(signature_b64, "signature")
    except MalformedError as exc:
        return exc.code
    if len(payload_b64) > (limits.max_payload * 4 + 2) // 3:
        return "jose_limit_exceeded"
    try:
        _b64url_decode_checked(payload_b64, "claims")
    except MalformedError as exc:
        return exc.code
    return "past base64url"


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    signature_b64=st.text(alphabet=_SEGMENT_CHARS, max_size=12),
    payload_b64=st.text(alphabet=_SEGMENT_CHARS, max_size=12),
)
def test_s13_planned_path_decodes_segments_like_the_checked_decoder(
    signature_b64: str, payload_b64: str
) -> None:
    """The planned path (a header seen before) inlines b64url_decode's fast path for the
    claims and signature segments: it refuses what the checked decoder refuses, with its
    code and in the same order, and what passes goes on to the signature check."""
    token, key = _hs256_token()
    policy = ClaimsPolicy(limits=Limits(max_payload=6))
    with pytest.raises(JoseError):
        jwt.decode(token, key, policy=policy)  # (claims too large) the header is now planned
    header_b64 = token.split(".")[0]
    assert header_b64 in policy.header_plans
    crafted = f"{header_b64}.{payload_b64}.{signature_b64}"
    with pytest.raises(JoseError) as info:
        jwt.decode(crafted, key, policy=policy)
    expected = _segment_outcome(signature_b64, payload_b64, policy.limits)
    if expected == "past base64url":
        assert info.value.code == "jws_invalid_signature"
    else:
        assert info.value.code == expected


# ---- the claims check's fast path for the usual token under the usual policy -------------

_NOW = 1_800_000_000


_EDGES = [
    *(_NOW + d for d in (-31, -30, -29, -1, 0, 1, 29, 30, 31, 60)),
    -1,
    0,
    MAX_NUMERIC_DATE,
    MAX_NUMERIC_DATE + 1,
    float(_NOW),
    float("nan"),
    float("inf"),
    True,
    None,
    "1800000000",
    "https://id.example",
    "https://evil.example",
    "api",
    "other",
    "",
    ["api"],
    [],
]
_NAMES = ["exp", "iat", "nbf", "iss", "aud", "sub", "jti", "x"]
_USUAL = {"iss": "https://id.example", "aud": "api", "sub": "u1", "jti": "j1"}


def _claims_outcome(check, claims):
    try:
        check(claims)
    except Exception as exc:  # the exact class and message are compared
        return (type(exc), str(exc))
    return "ok"


def _both_checks(leeway: int, offset: float):
    from tokensmith.jose.claims import ClaimsPolicy, _validator

    policy = ClaimsPolicy(
        issuer="https://id.example", audience="api", leeway=leeway, now=lambda: _NOW + offset
    )
    general = _validator(policy, fast_path=False)
    assert policy._validate is not general  # the fast path is in use for this policy
    return policy._validate, general


@pytest.mark.parametrize("leeway", [0, 30])
@pytest.mark.parametrize("offset", [0, 0.5])
def test_usual_claims_fast_path_agrees_on_every_edge(leeway: int, offset: float) -> None:
    """The usual valid token, then each claim in turn dropped or set to each side of every
    time and range boundary or to an odd value: the fast path and the general check agree
    on every outcome, down to the error's class and message."""
    fast, general = _both_checks(leeway, offset)
    base = {"exp": _NOW + 60, "iat": _NOW - 60, **_USUAL}
    cases = [base] + [{k: v for k, v in base.items() if k != name} for name in base]
    cases += [{**base, name: value} for name in _NAMES for value in _EDGES]
    outcomes = {_claims_outcome(general, claims) == "ok" for claims in cases}
    assert outcomes == {True, False}  # both accepted and refused cases are exercised
    for claims in cases:
        assert _claims_outcome(fast, claims) == _claims_outcome(general, claims), claims


@pytest.mark.parametrize("leeway", [0, 30])
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a busy CI machine
@given(
    claims=st.dictionaries(
        st.sampled_from(_NAMES),
        st.one_of(
            st.sampled_from(_EDGES),
            st.integers(),
            st.floats(),
            st.sampled_from(["", "a", "u1", "1e9"]),
        ),
    ),
    offset=st.sampled_from([0, 0.5]),
)
def test_usual_claims_fast_path_agrees_on_random_claims(
    leeway: int, claims: dict, offset: float
) -> None:
    fast, general = _both_checks(leeway, offset)
    for candidate in (claims, {"exp": _NOW + 60, "iat": _NOW - 60, **_USUAL, **claims}):
        assert _claims_outcome(fast, candidate) == _claims_outcome(general, candidate)

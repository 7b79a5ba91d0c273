"""Unit tests of tokensmith.jose.encoding: strict base64url, strict JSON, limits."""

from __future__ import annotations

import pytest

from tokensmith.jose.encoding import (
    Limits,
    b64url_decode,
    b64url_encode,
    dump_json,
    parse_json,
    parse_json_object,
)
from tokensmith.jose.errors import LimitExceededError, MalformedError


@pytest.mark.parametrize("data", [b"", b"\x00", b"ab", b"abc", bytes(range(256))])
def test_b64url_round_trip(data: bytes) -> None:
    encoded = b64url_encode(data)
    assert "=" not in encoded
    assert b64url_decode(encoded) == data
    assert b64url_decode(encoded.encode()) == data


@pytest.mark.parametrize("text", ["QQ==", "Q Q", "+/", "QR", "QUJ", "A", "é", b"\xff"])
def test_s13_b64url_is_strict(text: str | bytes) -> None:
    # padding, whitespace, '+'/'/', "QR"/"QUJ" with non-zero spare bits ("QQ"/"QUI" are
    # the canonical forms), an impossible length, non-ASCII text and bytes.
    with pytest.raises(MalformedError) as info:
        b64url_decode(text)
    assert info.value.code == "jose_bad_base64"


@pytest.mark.parametrize(
    "text",
    [
        '{"a":1,"a":2}',
        '{"x":{"b":1,"b":1}}',
        '{"a":NaN}',
        '{"a":Infinity}',
        '{"a":"\\ud800"}',
        "{",
        "[1,]",
    ],
)
def test_json_is_strict(text: str) -> None:
    with pytest.raises(MalformedError):
        parse_json(text, max_size=1000, max_depth=10)


def test_json_limits() -> None:
    with pytest.raises(LimitExceededError):
        parse_json("[" * 6 + "]" * 6, max_size=1000, max_depth=5)
    assert parse_json("[" * 5 + "]" * 5, max_size=1000, max_depth=5) == [[[[[]]]]]
    with pytest.raises(LimitExceededError):
        parse_json('"' + "a" * 20 + '"', max_size=10, max_depth=5)
    with pytest.raises(LimitExceededError):
        parse_json("[" * 5000 + "]" * 5000, max_size=100_000, max_depth=10_000)
    with pytest.raises(MalformedError):
        parse_json_object("[]", max_size=10, max_depth=5)
    with pytest.raises(MalformedError):
        parse_json(b"\xff", max_size=10, max_depth=5)


def test_limits_are_validated() -> None:
    assert Limits().max_depth == 16
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive int"):
            Limits(max_token=bad)  # type: ignore[arg-type]


def test_dump_json_is_compact_and_strict() -> None:
    assert dump_json({"a": [1, "ñ"]}) == '{"a":[1,"ñ"]}'.encode()
    with pytest.raises(ValueError, match="strict JSON"):
        dump_json({"a": float("nan")})


@pytest.mark.parametrize("number", ["1e999", "-1e999", "1.5e400", "-9e99999"])
def test_regression_overflowing_number_is_not_infinity(number: str) -> None:
    """``1e999`` parsed to ``inf``: a JSON text cannot smuggle in Infinity (S14)."""
    with pytest.raises(MalformedError) as info:
        parse_json(f'{{"n":{number}}}', max_size=100, max_depth=4)
    assert info.value.code == "jose_bad_json"


def test_large_finite_numbers_still_parse() -> None:
    assert parse_json('{"n":1e308,"m":-2.5e-300}', max_size=100, max_depth=4) == {
        "n": 1e308,
        "m": -2.5e-300,
    }

"""S22: oversized input (Authlib CVE-2025-61920) is refused before any decoding, and
the limits on token, header, claims size and JSON depth are configurable.

"Before decoding" is proved without timing: every base64url and JSON decoding entry
point the JOSE modules call is wrapped to record the size of what it was handed."""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Callable
from typing import Any

import pytest
from hostile import CLAIMS, POLICY, forge, rejected, seg

import tokensmith.jose
from tokensmith.jose import JWK, ClaimsPolicy, Limits, jws, jwt
from tokensmith.jose.encoding import b64url_encode

LIMIT = "jose_limit_exceeded"
HUGE = 300 * 1024
DECODERS = ("b64url_decode", "parse_json", "parse_json_object")


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """(function, input length) for every call of a decoder from any jose module."""
    calls: list[tuple[str, int]] = []

    def wrap(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
        def spy(data: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append((name, len(data) if hasattr(data, "__len__") else -1))
            return real(data, *args, **kwargs)

        return spy

    for info in pkgutil.iter_modules(tokensmith.jose.__path__):
        module = importlib.import_module(f"tokensmith.jose.{info.name}")
        for name in DECODERS:
            real = getattr(module, name, None)
            if callable(real):
                monkeypatch.setattr(module, name, wrap(name, real))
    return calls


def _largest(calls: list[tuple[str, int]]) -> int:
    return max((size for _, size in calls), default=0)


def _huge_header_token(key: JWK) -> str:
    return forge({"alg": "HS256", "x": "A" * HUGE}, CLAIMS, key)


def test_s22_decoder_spy_sees_normal_decoding(hs256: JWK, decoded: list[tuple[str, int]]) -> None:
    """Guard for the tests below: a normal token does go through the wrapped decoders."""
    token = jwt.encode(CLAIMS, hs256)
    assert jwt.decode(token, hs256, policy=POLICY).claims == CLAIMS
    names = {name for name, _ in decoded}
    assert "b64url_decode" in names
    assert names & {"parse_json", "parse_json_object"}


def test_s22_300kb_header_refused_before_decoding(
    hs256: JWK, decoded: list[tuple[str, int]]
) -> None:
    token = _huge_header_token(hs256)
    assert len(token) > HUGE
    with rejected(LIMIT):
        jwt.decode(token, hs256, policy=POLICY)
    with rejected(LIMIT):
        jws.verify(token, hs256)
    with rejected(LIMIT):
        jwt.peek(token)
    with rejected(LIMIT):
        jwt.decode(token.encode("ascii"), hs256, policy=POLICY)
    header, payload, signature = token.split(".")
    with rejected(LIMIT):
        jws.verify_json(
            json.dumps({"protected": header, "payload": payload, "signature": signature}), hs256
        )
    assert decoded == []


def test_s22_300kb_header_refused_before_decoding_even_under_a_large_token_limit(
    hs256: JWK, decoded: list[tuple[str, int]]
) -> None:
    """With room for the whole token, the header's own limit still refuses it unread."""
    limits = Limits(max_token=4 * 1024 * 1024)
    token = _huge_header_token(hs256)
    with rejected(LIMIT):
        jwt.decode(token, hs256, policy=ClaimsPolicy(now=POLICY.now, limits=limits))
    with rejected(LIMIT):
        jws.verify(token, hs256, limits=limits)
    with rejected(LIMIT):
        jwt.peek(token, limits=limits)
    header, payload, signature = token.split(".")
    with rejected(LIMIT):
        jws.verify_json(
            {"protected": header, "payload": payload, "signature": signature}, hs256, limits=limits
        )
    assert _largest(decoded) < 1024  # only the small JSON envelope, never the header


def test_s22_300kb_signature_refused_before_decoding(
    hs256: JWK, decoded: list[tuple[str, int]]
) -> None:
    token = jwt.encode(CLAIMS, hs256)
    header, payload, _ = token.split(".")
    huge = f"{header}.{payload}.{'A' * HUGE}"
    with rejected(LIMIT):
        jwt.decode(huge, hs256, policy=POLICY)
    with rejected(LIMIT):
        jws.verify(huge, hs256)
    assert decoded == []
    limits = Limits(max_token=4 * 1024 * 1024)
    with rejected(LIMIT):
        jwt.decode(huge, hs256, policy=ClaimsPolicy(now=POLICY.now, limits=limits))
    with rejected(LIMIT):
        jws.verify(huge, hs256, limits=limits)
    with rejected("jws_malformed"):
        jws.verify_json(
            {"protected": header, "payload": payload, "signature": "A" * HUGE}, hs256, limits=limits
        )
    assert 0 < _largest(decoded) < 1024  # the small header was read; the signature never


def test_s22_300kb_claims_refused_before_decoding(
    hs256: JWK, decoded: list[tuple[str, int]]
) -> None:
    limits = Limits(max_token=4 * 1024 * 1024)
    token = forge({"alg": "HS256"}, {**CLAIMS, "x": "A" * HUGE}, hs256)
    with rejected(LIMIT):
        jwt.decode(token, hs256, policy=ClaimsPolicy(now=POLICY.now, limits=limits))
    with rejected(LIMIT):
        jws.verify(token, hs256, limits=limits)
    assert _largest(decoded) < 1024


def test_s22_token_limit_applies_to_bytes_before_ascii_decoding(hs256: JWK) -> None:
    with rejected(LIMIT):
        jwt.decode(b"\xff" * (HUGE), hs256, policy=POLICY)


# ---- configurable limits ---------------------------------------------------------


def _policy(limits: Limits) -> ClaimsPolicy:
    return ClaimsPolicy(now=POLICY.now, limits=limits)


def test_s22_max_token_configurable(hs256: JWK) -> None:
    token = jwt.encode(CLAIMS, hs256)
    fits, tight = Limits(max_token=len(token)), Limits(max_token=len(token) - 1)
    assert jwt.decode(token, hs256, policy=_policy(fits)).claims == CLAIMS
    with rejected(LIMIT):
        jwt.decode(token, hs256, policy=_policy(tight))
    with rejected(LIMIT):
        jws.verify(token, hs256, limits=tight)
    with rejected(LIMIT):
        jwt.peek(token, limits=tight)
    signed = jws.sign_json(b"payload", [jws.Signer(hs256, "HS256")])
    text = json.dumps(signed)
    assert jws.verify_json(text, hs256, limits=Limits(max_token=len(text))).payload == b"payload"
    with rejected(LIMIT):
        jws.verify_json(text, hs256, limits=Limits(max_token=len(text) - 1))


def test_s22_max_header_configurable(hs256: JWK) -> None:
    header = {"alg": "HS256", "x": "A" * 200}
    token = forge(header, CLAIMS, hs256)
    size = len(json.dumps(header, separators=(",", ":")))
    assert jwt.decode(token, hs256, policy=_policy(Limits(max_header=size))).claims == CLAIMS
    tight = Limits(max_header=size - 1)
    with rejected(LIMIT):
        jwt.decode(token, hs256, policy=_policy(tight))
    with rejected(LIMIT):
        jws.verify(token, hs256, limits=tight)
    with rejected(LIMIT):
        jwt.peek(token, limits=tight)


def test_s22_max_payload_configurable(hs256: JWK) -> None:
    claims = {**CLAIMS, "x": "A" * 300}
    token = forge({"alg": "HS256"}, claims, hs256)
    size = len(json.dumps(claims, separators=(",", ":")))
    assert jwt.decode(token, hs256, policy=_policy(Limits(max_payload=size))).claims == claims
    tight = Limits(max_payload=size - 3)  # below the encoded-size bound as well
    with rejected(LIMIT):
        jwt.decode(token, hs256, policy=_policy(tight))
    with rejected(LIMIT):
        jws.verify(token, hs256, limits=tight)
    with rejected(LIMIT):
        jwt.peek(token, limits=tight)


def test_s22_max_depth_configurable(hs256: JWK) -> None:
    claims = {**CLAIMS, "nest": {"a": {"b": {"c": 1}}}}  # depth 4
    token = forge({"alg": "HS256"}, claims, hs256)
    assert jwt.decode(token, hs256, policy=_policy(Limits(max_depth=4))).claims == claims
    with rejected(LIMIT):
        jwt.decode(token, hs256, policy=_policy(Limits(max_depth=3)))
    deep_header = forge('{"alg":"HS256","x":[[[[1]]]]}', CLAIMS, hs256, alg="HS256")
    with rejected(LIMIT):
        jws.verify(deep_header, hs256, limits=Limits(max_depth=4))


@pytest.mark.parametrize("depth", [17, 1000, 100_000])
def test_s22_deep_nesting_refused_with_default_depth(depth: int, hs256: JWK) -> None:
    claims = '{"exp":1700003600,"x":' + "[" * depth + "]" * depth + "}"
    roomy = Limits(max_token=4 * 1024 * 1024, max_payload=1024 * 1024)  # depth is the limit
    token = forge({"alg": "HS256"}, claims, hs256)
    with rejected(LIMIT):
        jwt.decode(token, hs256, policy=_policy(roomy))
    header = '{"alg":"HS256","x":' + '{"a":' * depth + "1" + "}" * depth + "}"
    if len(header) < 8 * 1024:
        with rejected(LIMIT):
            jws.verify(forge(header, b"p", hs256, alg="HS256"), hs256)


@pytest.mark.parametrize("field", ["max_token", "max_header", "max_payload", "max_depth"])
@pytest.mark.parametrize("value", [0, -1, 1.5, True, "10", None])
def test_s22_limits_must_be_positive_ints(field: str, value: Any) -> None:
    with pytest.raises(ValueError, match=field):
        Limits(**{field: value})


def test_s22_encoded_header_exactly_at_limit_accepted(hs256: JWK) -> None:
    """The pre-decoding size check is not off by one against the decoded limit."""
    for size in range(40, 48):
        text = '{"alg":"HS256","x":"' + "A" * (size - 22) + '"}'
        assert len(text) == size
        token = forge(text, CLAIMS, hs256, alg="HS256")
        assert len(seg(text)) == len(b64url_encode(text.encode()))
        assert jws.verify(token, hs256, limits=Limits(max_header=size)).header["alg"] == "HS256"
        with rejected(LIMIT):
            jws.verify(token, hs256, limits=Limits(max_header=size - 1))

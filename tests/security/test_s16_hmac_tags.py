"""S16: MAC tags are compared with ``hmac.compare_digest``; truncated, extended and
appended tags are refused."""

from __future__ import annotations

import hmac
from typing import Any

import pytest
from hostile import CLAIMS, POLICY, rejected

from tokensmith.jose import JWK, jws, jwt
from tokensmith.jose.encoding import b64url_decode, b64url_encode

HS_ALGS = {"HS256": 32, "HS384": 48, "HS512": 64}


@pytest.fixture(scope="module")
def keys() -> dict[str, JWK]:
    return {alg: JWK.generate(alg, kid=alg) for alg in HS_ALGS}


def _tag_variants(tag: bytes) -> dict[str, bytes]:
    return {
        "empty": b"",
        "one byte": tag[:1],
        "truncated to 16 bytes": tag[:16],
        "truncated by one byte": tag[:-1],
        "extended by a zero byte": tag + b"\x00",
        "extended by one byte": tag + b"\x01",
        "appended to itself": tag + tag,
        "prefixed by a zero byte": b"\x00" + tag,
        "last bit flipped": tag[:-1] + bytes([tag[-1] ^ 1]),
        "all zero": bytes(len(tag)),
    }


@pytest.mark.parametrize("alg", HS_ALGS)
def test_s16_tampered_tags_rejected(alg: str, keys: dict[str, JWK]) -> None:
    token = jwt.encode(CLAIMS, keys[alg])
    header, payload, signature = token.split(".")
    tag = b64url_decode(signature)
    assert len(tag) == HS_ALGS[alg]
    assert jwt.decode(token, keys[alg], policy=POLICY).claims == CLAIMS
    for name, variant in _tag_variants(tag).items():
        forged = f"{header}.{payload}.{b64url_encode(variant)}"
        with rejected("jws_invalid_signature"):
            jwt.decode(forged, keys[alg], policy=POLICY)
        with rejected("jws_invalid_signature"):
            jws.verify(forged, keys[alg])
        obj = {"protected": header, "payload": payload, "signature": b64url_encode(variant)}
        with rejected("jws_invalid_signature"):
            jws.verify_json(obj, keys[alg])
        assert variant != tag, name


@pytest.mark.parametrize("alg", HS_ALGS)
def test_s16_mac_is_compared_with_compare_digest(
    alg: str, keys: dict[str, JWK], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every verification goes through ``hmac.compare_digest`` with the expected tag and
    the presented one (no ``==`` that could leak timing)."""
    calls: list[tuple[Any, Any]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    token = jwt.encode(CLAIMS, keys[alg])
    header, payload, signature = token.split(".")
    tag = b64url_decode(signature)
    assert jwt.decode(token, keys[alg], policy=POLICY).claims == CLAIMS
    assert calls == [(tag, tag)]
    calls.clear()
    bad = tag[:-1] + bytes([tag[-1] ^ 0x80])
    with rejected("jws_invalid_signature"):
        jws.verify(f"{header}.{payload}.{b64url_encode(bad)}", keys[alg])
    assert calls == [(tag, bad)]


def test_s16_compare_digest_decides(keys: dict[str, JWK], monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison's answer is the verdict: forcing it false refuses a genuine token."""
    token = jwt.encode(CLAIMS, keys["HS256"])
    monkeypatch.setattr(hmac, "compare_digest", lambda a, b: False)
    with rejected("jws_invalid_signature"):
        jwt.decode(token, keys["HS256"], policy=POLICY)

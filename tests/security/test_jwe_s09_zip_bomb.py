"""S9: compressed-JWE bombs (python-jose CVE-2024-33664, jwcrypto CVE-2024-28102,
go-jose CVE-2024-28180).

``zip: DEF`` is inflated with a bounded decompressor (default cap 250 KB): a 10 MB bomb
is refused, and the test proves the bound by the amount of output the decompressor was
ever asked for and produced, not by a clock. ``zip`` is honoured only in the protected
header; an unknown ``zip`` value is refused.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest

from tokensmith.jose import JWK, jwe
from tokensmith.jose.encoding import b64url_decode, b64url_encode
from tokensmith.jose.errors import JoseError, LimitExceededError, MalformedError, UnsupportedError
from tokensmith.jose.jwe_zip import DEFAULT_MAX_INFLATED, deflate

KEY = JWK.from_secret(bytes(range(16)), alg="dir")
TEN_MB = 10 * 1024 * 1024


class _Spy:
    """Wraps zlib.decompressobj and records every max_length asked and byte produced."""

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.produced = 0
        self.real = zlib.decompressobj

    def __call__(self, *args: Any) -> Any:
        inner = self.real(*args)
        spy = self

        class Wrapped:
            def decompress(self, data: bytes, max_length: int = 0) -> bytes:
                spy.asked.append(max_length)
                out = inner.decompress(data, max_length)
                spy.produced += len(out)
                return out

            def __getattr__(self, name: str) -> Any:
                return getattr(inner, name)

        return Wrapped()


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch) -> _Spy:
    s = _Spy()
    monkeypatch.setattr(zlib, "decompressobj", s)
    return s


def _dir_token(compressed_plaintext: bytes, header: dict[str, Any]) -> str:
    """A genuine dir/A128GCM JWE over already-compressed bytes (as a sender would make)."""
    from tokensmith.jose.content import content_algorithm

    protected_b64 = b64url_encode(json.dumps({"alg": "dir", "enc": "A128GCM", **header}).encode())
    iv = bytes(12)
    ct, tag = content_algorithm("A128GCM").encrypt(
        KEY.private_key_object, iv, compressed_plaintext, protected_b64.encode()
    )
    return ".".join([protected_b64, "", b64url_encode(iv), b64url_encode(ct), b64url_encode(tag)])


def test_s9_ten_megabyte_bomb_refused_with_bounded_output(spy: _Spy) -> None:
    bomb = deflate(bytes(TEN_MB))
    assert len(bomb) < 20_000  # the token is small: the danger is only in inflating it
    token = _dir_token(bomb, {"zip": "DEF"})
    with pytest.raises(LimitExceededError) as info:
        jwe.decrypt(token, KEY)
    assert info.value.code == "jwe_zip_too_large"
    assert spy.asked == [DEFAULT_MAX_INFLATED + 1]
    assert spy.produced <= DEFAULT_MAX_INFLATED + 1


def test_s9_default_cap_is_250_kb() -> None:
    assert DEFAULT_MAX_INFLATED == 250 * 1024
    at_cap = jwe.encrypt(bytes(DEFAULT_MAX_INFLATED), KEY, enc="A128GCM", compress=True)
    assert len(jwe.decrypt(at_cap, KEY).plaintext) == DEFAULT_MAX_INFLATED
    over = jwe.encrypt(bytes(DEFAULT_MAX_INFLATED + 1), KEY, enc="A128GCM", compress=True)
    with pytest.raises(LimitExceededError):
        jwe.decrypt(over, KEY)


def test_s9_cap_is_configurable(spy: _Spy) -> None:
    policy = jwe.JWEPolicy(max_inflated=1000)
    token = jwe.encrypt(b"a" * 1001, KEY, enc="A128GCM", compress=True)
    with pytest.raises(LimitExceededError):
        jwe.decrypt(token, KEY, policy=policy)
    assert spy.produced <= 1001
    ok = jwe.encrypt(b"a" * 1000, KEY, enc="A128GCM", compress=True)
    assert jwe.decrypt(ok, KEY, policy=policy).plaintext == b"a" * 1000


@pytest.mark.parametrize("value", ["GZIP", "def", "", 1, None, ["DEF"]])
def test_s9_unknown_zip_refused(value: object, spy: _Spy) -> None:
    token = _dir_token(deflate(b"hello"), {"zip": value})
    with pytest.raises(UnsupportedError) as info:
        jwe.decrypt(token, KEY)
    assert info.value.code == "jwe_unsupported_zip"
    assert spy.asked == []


def _json(unprotected: dict[str, Any], recipient: dict[str, Any]) -> dict[str, Any]:
    data = jwe.encrypt_json(
        b"hello", [jwe.Recipient(JWK.from_secret(bytes(16), alg="A128KW"))], enc="A128GCM"
    )
    if unprotected:
        data["unprotected"] = unprotected
    data["recipients"][0]["header"].update(recipient)
    return data


@pytest.mark.parametrize(("unprotected", "recipient"), [({"zip": "DEF"}, {}), ({}, {"zip": "DEF"})])
def test_s9_zip_outside_the_protected_header_refused(
    unprotected: dict[str, Any], recipient: dict[str, Any], spy: _Spy
) -> None:
    data = _json(unprotected, recipient)
    with pytest.raises(MalformedError):
        jwe.decrypt_json(data, JWK.from_secret(bytes(16), alg="A128KW"))
    assert spy.asked == []


def test_s9_truncated_or_trailing_deflate_refused() -> None:
    whole = deflate(b"hello world" * 100)
    for bad in (whole[:-3], whole + b"junk"):
        with pytest.raises(JoseError) as info:
            jwe.decrypt(_dir_token(bad, {"zip": "DEF"}), KEY)
        assert info.value.code == "jwe_bad_zip"


def test_s9_zip_round_trip_and_compression_happens() -> None:
    text = b"You can trust us to stick with you through thick and thin. " * 50
    token = jwe.encrypt(text, KEY, enc="A128GCM", compress=True)
    assert len(b64url_decode(token.split(".")[3])) < len(text) // 4
    assert jwe.decrypt(token, KEY).plaintext == text

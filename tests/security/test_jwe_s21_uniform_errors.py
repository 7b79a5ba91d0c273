"""S21: CBC-HMAC order and one uniform error.

Every failure about the key or the tag (wrong key, modified encrypted key, IV,
ciphertext or tag, truncated or extended tag) is the same ``DecryptionError`` with
the same code and message. CBC-HMAC checks the MAC, with ``hmac.compare_digest``,
before any AES-CBC decryption happens; AES-GCM tags are exactly 128 bits.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

import pytest

from tokensmith.jose import JWK, JWKSet, jwe
from tokensmith.jose import content as content_module
from tokensmith.jose.encoding import b64url_decode, b64url_encode
from tokensmith.jose.errors import DecryptionError

ENCS = ["A128GCM", "A192GCM", "A256GCM", "A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"]
ALGS = ["A256KW", "A256GCMKW", "RSA-OAEP-256", "ECDH-ES+A128KW"]
_KEYS = {alg: JWK.generate(alg, kid=alg) for alg in ALGS}


def _public(key: JWK) -> JWK:
    return key if key.is_symmetric else key.public()


def _segment(token: str, index: int, change: Callable[[bytes], bytes]) -> str:
    parts = token.split(".")
    parts[index] = b64url_encode(change(b64url_decode(parts[index])))
    return ".".join(parts)


def _flip(data: bytes) -> bytes:
    return bytes([data[0] ^ 1]) + data[1:] if data else b"\x01"


TAMPERINGS: dict[str, Callable[[str], str]] = {
    "encrypted_key": lambda t: _segment(t, 1, _flip),
    "iv": lambda t: _segment(t, 2, _flip),
    "ciphertext": lambda t: _segment(t, 3, _flip),
    "tag": lambda t: _segment(t, 4, _flip),
    "tag_last_byte": lambda t: _segment(t, 4, lambda d: d[:-1] + bytes([d[-1] ^ 0x80])),
    "tag_truncated_1": lambda t: _segment(t, 4, lambda d: d[:-1]),
    "tag_truncated_half": lambda t: _segment(t, 4, lambda d: d[: len(d) // 2]),
    "tag_extended": lambda t: _segment(t, 4, lambda d: d + b"\x00"),
    "tag_empty": lambda t: _segment(t, 4, lambda d: b""),
    "iv_truncated": lambda t: _segment(t, 2, lambda d: d[:-1]),
}


def _error(token: str, keys: Any) -> DecryptionError:
    with pytest.raises(DecryptionError) as info:
        jwe.decrypt(token, keys)
    return info.value


@pytest.fixture(scope="module")
def reference() -> str:
    """The message every failure must show, taken from a plain wrong-tag failure."""
    token = jwe.encrypt(b"x", _KEYS["A256KW"], enc="A128GCM")
    return str(_error(TAMPERINGS["tag"](token), _KEYS["A256KW"]))


@pytest.mark.parametrize("enc", ENCS)
@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("tampering", sorted(TAMPERINGS))
def test_s21_every_key_or_tag_failure_is_one_uniform_error(
    alg: str, enc: str, tampering: str, reference: str
) -> None:
    key = _KEYS[alg]
    token = jwe.encrypt(b"payload", _public(key), enc=enc)
    error = _error(TAMPERINGS[tampering](token), key)
    assert error.code == "jwe_decryption_failed"
    assert str(error) == reference


@pytest.mark.parametrize("alg", ALGS)
def test_s21_wrong_key_of_the_right_type_is_the_same_error(alg: str, reference: str) -> None:
    token = jwe.encrypt(b"payload", _public(_KEYS[alg]), enc="A128CBC-HS256")
    other = JWK.generate(alg)  # a different kid: try it as a bare key
    assert str(_error(token, other)) == reference
    assert str(_error(token, [other, JWK.generate(alg)])) == reference


def test_s21_wrong_key_in_a_set_with_the_same_kid_is_the_same_error(reference: str) -> None:
    token = jwe.encrypt(b"payload", _KEYS["A256KW"])
    impostor = JWK.generate("A256KW", kid="A256KW")
    assert str(_error(token, JWKSet([impostor]))) == reference


@pytest.mark.parametrize("enc", ["A128CBC-HS256", "A192CBC-HS384", "A256CBC-HS512"])
def test_s21_cbc_mac_checked_before_any_decryption(
    enc: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _KEYS["A256KW"]
    token = jwe.encrypt(b"payload", key, enc=enc)
    ciphers: list[str] = []
    compares: list[tuple[bytes, bytes]] = []
    real_cipher = content_module.Cipher
    real_compare = hmac.compare_digest

    def counting_cipher(*args: Any, **kwargs: Any) -> Any:
        ciphers.append("cipher")
        return real_cipher(*args, **kwargs)

    def recording_compare(a: Any, b: Any) -> bool:
        compares.append((a, b))
        return real_compare(a, b)

    monkeypatch.setattr(content_module, "Cipher", counting_cipher)
    monkeypatch.setattr(content_module.hmac, "compare_digest", recording_compare)
    for tampering in ("ciphertext", "tag", "iv"):
        with pytest.raises(DecryptionError):
            jwe.decrypt(TAMPERINGS[tampering](token), key)
    assert ciphers == []  # no AES-CBC before the MAC passed
    assert len(compares) == 3  # and the MAC was compared in constant time
    assert jwe.decrypt(token, key).plaintext == b"payload"
    assert ciphers == ["cipher"]


@pytest.mark.parametrize("tag_bytes", [0, 4, 8, 12, 13, 14, 15, 17, 24, 32])
def test_s21_gcm_tags_are_exactly_128_bits(tag_bytes: int) -> None:
    key = _KEYS["A256KW"]
    token = jwe.encrypt(b"payload", key, enc="A256GCM")
    tag = b64url_decode(token.split(".")[4])
    forged = _segment(token, 4, lambda _: (tag * 3)[:tag_bytes])
    with pytest.raises(DecryptionError):
        jwe.decrypt(forged, key)

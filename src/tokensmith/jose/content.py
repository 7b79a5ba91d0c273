"""JWE content encryption algorithms (``enc``) as data (RFC 7518 §5).

One table built from two factories: AES-GCM (§5.3) and AES-CBC with HMAC-SHA2
(§5.2). Only :func:`content_algorithm` resolves a name.

Every failure to authenticate or decrypt raises the one uniform
:class:`~tokensmith.jose.errors.DecryptionError` (S21): a wrong IV or tag length, a
tag that does not match, bad padding. CBC-HMAC checks the MAC, in constant time,
before it decrypts anything; GCM accepts only 96-bit IVs and 128-bit tags.
"""

from __future__ import annotations

import hmac
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .errors import AlgorithmNotAllowedError, DecryptionError, UnsupportedError

_FAILED = "the JWE could not be decrypted"


class _Encrypt(Protocol):
    def __call__(self, cek: bytes, iv: bytes, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
        """Return ``(ciphertext, tag)``."""
        ...


class _Decrypt(Protocol):
    def __call__(self, cek: bytes, iv: bytes, ciphertext: bytes, tag: bytes, aad: bytes) -> bytes:
        """Return the plaintext or raise :class:`DecryptionError`."""
        ...


@dataclass(frozen=True, slots=True)
class ContentEncryption:
    """One ``enc`` algorithm: its CEK, IV and tag sizes in bytes, and the two operations.

    ``decrypt`` checks the CEK, IV and tag sizes itself; callers need not.
    """

    name: str
    key_bytes: int
    iv_bytes: int
    tag_bytes: int
    encrypt: _Encrypt
    decrypt: _Decrypt


def _check_sizes(sizes: tuple[int, int, int], cek: bytes, iv: bytes, tag: bytes) -> None:
    if (len(cek), len(iv), len(tag)) != sizes:
        raise DecryptionError(_FAILED)


def _gcm(name: str, bits: int) -> ContentEncryption:
    key_bytes, iv_bytes, tag_bytes = bits // 8, 12, 16

    def encrypt(cek: bytes, iv: bytes, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
        if len(cek) != key_bytes or len(iv) != iv_bytes:
            raise ValueError(f"{name} needs a {key_bytes}-byte key and a {iv_bytes}-byte IV")
        sealed = AESGCM(cek).encrypt(iv, plaintext, aad)
        return sealed[:-tag_bytes], sealed[-tag_bytes:]

    def decrypt(cek: bytes, iv: bytes, ciphertext: bytes, tag: bytes, aad: bytes) -> bytes:
        _check_sizes((key_bytes, iv_bytes, tag_bytes), cek, iv, tag)
        try:
            return AESGCM(cek).decrypt(iv, ciphertext + tag, aad)
        except InvalidTag:
            raise DecryptionError(_FAILED) from None

    return ContentEncryption(name, key_bytes, iv_bytes, tag_bytes, encrypt, decrypt)


def _cbc_hmac(name: str, bits: int, hash_name: str) -> ContentEncryption:
    """AES_CBC_HMAC_SHA2 (RFC 7518 §5.2.2): MAC_KEY || ENC_KEY, tag = truncated HMAC
    over AAD || IV || ciphertext || AL."""
    half = bits // 8
    key_bytes, iv_bytes, tag_bytes = 2 * half, 16, half

    def mac(mac_key: bytes, aad: bytes, iv: bytes, ciphertext: bytes) -> bytes:
        al = struct.pack(">Q", 8 * len(aad))
        return hmac.digest(mac_key, aad + iv + ciphertext + al, hash_name)[:tag_bytes]

    def encrypt(cek: bytes, iv: bytes, plaintext: bytes, aad: bytes) -> tuple[bytes, bytes]:
        if len(cek) != key_bytes or len(iv) != iv_bytes:
            raise ValueError(f"{name} needs a {key_bytes}-byte key and a {iv_bytes}-byte IV")
        padder = padding.PKCS7(128).padder()
        padded = padder.update(plaintext) + padder.finalize()
        encryptor = Cipher(algorithms.AES(cek[half:]), modes.CBC(iv)).encryptor()
        ciphertext = encryptor.update(padded) + encryptor.finalize()
        return ciphertext, mac(cek[:half], aad, iv, ciphertext)

    def decrypt(cek: bytes, iv: bytes, ciphertext: bytes, tag: bytes, aad: bytes) -> bytes:
        _check_sizes((key_bytes, iv_bytes, tag_bytes), cek, iv, tag)
        # The MAC first, compared in constant time; nothing is decrypted before it passes.
        if not hmac.compare_digest(mac(cek[:half], aad, iv, ciphertext), tag):
            raise DecryptionError(_FAILED)
        if not ciphertext or len(ciphertext) % 16:
            raise DecryptionError(_FAILED)
        decryptor = Cipher(algorithms.AES(cek[half:]), modes.CBC(iv)).decryptor()
        padded = decryptor.update(ciphertext) + decryptor.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        try:
            return unpadder.update(padded) + unpadder.finalize()
        except ValueError:
            raise DecryptionError(_FAILED) from None

    return ContentEncryption(name, key_bytes, iv_bytes, tag_bytes, encrypt, decrypt)


CONTENT_ENCRYPTIONS: Mapping[str, ContentEncryption] = MappingProxyType(
    {
        enc.name: enc
        for enc in (
            _gcm("A128GCM", 128),
            _gcm("A192GCM", 192),
            _gcm("A256GCM", 256),
            _cbc_hmac("A128CBC-HS256", 128, "sha256"),
            _cbc_hmac("A192CBC-HS384", 192, "sha384"),
            _cbc_hmac("A256CBC-HS512", 256, "sha512"),
        )
    }
)

#: Every ``enc`` value tokensmith implements, in table order.
ALL_CONTENT_ENCRYPTIONS: tuple[str, ...] = tuple(CONTENT_ENCRYPTIONS)


def content_algorithm(name: object) -> ContentEncryption:
    """Resolve an ``enc`` name from a header or a caller."""
    if type(name) is not str:
        raise AlgorithmNotAllowedError("the 'enc' header must be a string")
    enc = CONTENT_ENCRYPTIONS.get(name)
    if enc is None:
        raise UnsupportedError(
            f"unsupported content encryption {name!r}", code="jwe_unsupported_enc"
        )
    return enc


__all__ = [
    "ALL_CONTENT_ENCRYPTIONS",
    "CONTENT_ENCRYPTIONS",
    "ContentEncryption",
    "content_algorithm",
]

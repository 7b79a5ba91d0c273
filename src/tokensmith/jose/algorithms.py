"""JWS signing algorithms as data (RFC 7518 §3, RFC 8037, RFC 8812, RFC 9864).

One table, built from small factories. Only :func:`signing_algorithm` resolves a
name; nothing else branches on an algorithm name. Each entry says which key type
(and curves) it accepts: the key decides the family (S2).

``none`` is not in the table and can never be resolved.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)

from .errors import AlgorithmNotAllowedError, UnsupportedError


class _Signer(Protocol):
    def __call__(self, key: Any, data: bytes) -> bytes: ...


class _Verifier(Protocol):
    def __call__(self, key: Any, data: bytes, signature: bytes) -> bool: ...


@dataclass(frozen=True, slots=True)
class SigningAlgorithm:
    """One JWS algorithm.

    ``kty`` and ``curves`` name the only keys it accepts. ``min_key_bytes`` is the
    minimum symmetric key length (RFC 7518 §3.2). ``sign`` takes the prepared
    private key object; ``verify`` the public one. ``prepare``, when set, turns a key
    object into its prepared form once (HMAC: a keyed context, so each use skips the
    key schedule); ``sign`` and ``verify`` also take the unprepared form.
    """

    name: str
    kty: str
    curves: frozenset[str]
    sign: _Signer
    verify: _Verifier
    hash_name: str | None = None
    min_key_bytes: int = 0
    prepare: Callable[[Any], Any] | None = None


def _hmac(name: str, hash_cls: type[hashes.HashAlgorithm], size: int) -> SigningAlgorithm:
    """HMAC over a keyed context prepared once per key: each use copies it, which skips
    hashing the padded key twice (the ipad/opad blocks) and the digest lookup."""
    hash_obj = hash_cls()

    def prepare(secret: bytes) -> crypto_hmac.HMAC:
        return crypto_hmac.HMAC(secret, hash_obj)

    def sign(key: bytes | crypto_hmac.HMAC, data: bytes) -> bytes:
        ctx = prepare(key) if type(key) is bytes else key.copy()  # type: ignore[union-attr]
        ctx.update(data)
        return ctx.finalize()

    def verify(key: bytes | crypto_hmac.HMAC, data: bytes, signature: bytes) -> bool:
        ctx = prepare(key) if type(key) is bytes else key.copy()  # type: ignore[union-attr]
        ctx.update(data)
        return hmac.compare_digest(ctx.finalize(), signature)  # constant time (S16)

    return SigningAlgorithm(
        name,
        "oct",
        frozenset(),
        sign,
        verify,
        hash_name=hash_obj.name,
        min_key_bytes=size,
        prepare=prepare,
    )


def _rsa(name: str, hash_cls: type[hashes.HashAlgorithm], *, pss: bool) -> SigningAlgorithm:
    hash_obj = hash_cls()
    pad: padding.AsymmetricPadding = (
        padding.PSS(mgf=padding.MGF1(hash_obj), salt_length=hash_obj.digest_size)
        if pss
        else padding.PKCS1v15()
    )

    def sign(key: Any, data: bytes) -> bytes:
        return key.sign(data, pad, hash_obj)  # type: ignore[no-any-return]

    def verify(key: Any, data: bytes, signature: bytes) -> bool:
        try:
            key.verify(signature, data, pad, hash_obj)
        except InvalidSignature:
            return False
        return True

    return SigningAlgorithm(name, "RSA", frozenset(), sign, verify, hash_name=hash_obj.name)


def _ecdsa(
    name: str, curve: str, hash_cls: type[hashes.HashAlgorithm], size: int
) -> SigningAlgorithm:
    """ECDSA with the JWS signature format: raw ``r || s``, each ``size`` bytes (S6)."""
    scheme = ec.ECDSA(hash_cls())

    def sign(key: Any, data: bytes) -> bytes:
        r, s = decode_dss_signature(key.sign(data, scheme))
        return r.to_bytes(size, "big") + s.to_bytes(size, "big")

    def verify(key: Any, data: bytes, signature: bytes) -> bool:
        if len(signature) != 2 * size:
            return False
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        if r == 0 or s == 0:
            return False
        try:
            key.verify(encode_dss_signature(r, s), data, scheme)
        except InvalidSignature:
            return False
        return True

    return SigningAlgorithm(name, "EC", frozenset({curve}), sign, verify, hash_name=hash_cls().name)


def _eddsa(name: str, curves: frozenset[str]) -> SigningAlgorithm:
    def sign(key: Any, data: bytes) -> bytes:
        return key.sign(data)  # type: ignore[no-any-return]

    def verify(key: Any, data: bytes, signature: bytes) -> bool:
        try:
            key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    return SigningAlgorithm(name, "OKP", curves, sign, verify)


_ED = frozenset({"Ed25519", "Ed448"})

SIGNING_ALGORITHMS: Mapping[str, SigningAlgorithm] = MappingProxyType(
    {
        alg.name: alg
        for alg in (
            _hmac("HS256", hashes.SHA256, 32),
            _hmac("HS384", hashes.SHA384, 48),
            _hmac("HS512", hashes.SHA512, 64),
            _rsa("RS256", hashes.SHA256, pss=False),
            _rsa("RS384", hashes.SHA384, pss=False),
            _rsa("RS512", hashes.SHA512, pss=False),
            _rsa("PS256", hashes.SHA256, pss=True),
            _rsa("PS384", hashes.SHA384, pss=True),
            _rsa("PS512", hashes.SHA512, pss=True),
            _ecdsa("ES256", "P-256", hashes.SHA256, 32),
            _ecdsa("ES384", "P-384", hashes.SHA384, 48),
            _ecdsa("ES512", "P-521", hashes.SHA512, 66),
            _ecdsa("ES256K", "secp256k1", hashes.SHA256, 32),
            _eddsa("EdDSA", _ED),
            _eddsa("Ed25519", frozenset({"Ed25519"})),
            _eddsa("Ed448", frozenset({"Ed448"})),
        )
    }
)

#: Every JWS algorithm tokensmith implements, in table order.
ALL_SIGNING_ALGORITHMS: tuple[str, ...] = tuple(SIGNING_ALGORITHMS)


def signing_algorithm(name: object) -> SigningAlgorithm:
    """Resolve an algorithm name from a header or a caller. ``none`` never resolves (S1)."""
    if type(name) is not str:
        raise AlgorithmNotAllowedError("the 'alg' header must be a string")
    alg = SIGNING_ALGORITHMS.get(name)
    if alg is None:
        if name.lower() == "none":
            raise AlgorithmNotAllowedError("'alg: none' is never accepted")
        raise UnsupportedError(
            f"unsupported signing algorithm {name!r}", code="jose_unsupported_alg"
        )
    return alg


def algorithms_for_key(kty: str, crv: str | None) -> tuple[str, ...]:
    """The algorithms whose family matches a key type (and curve)."""
    return tuple(
        a.name
        for a in SIGNING_ALGORITHMS.values()
        if a.kty == kty and (not a.curves or crv in a.curves)
    )


__all__ = [
    "ALL_SIGNING_ALGORITHMS",
    "SIGNING_ALGORITHMS",
    "SigningAlgorithm",
    "algorithms_for_key",
    "signing_algorithm",
]

"""JWE key management algorithms (``alg``) as data (RFC 7518 §4, RFC 8037 §3.2).

One table built from small factories: direct, AES key wrap, AES-GCM key wrap,
RSA-OAEP, RSA1_5 (decryption only), ECDH-ES (direct and with key wrap) and PBES2.
Only :func:`key_management` resolves a name. Each entry says which key families it
accepts (the key decides the family) and which ``key_ops`` it needs.

Defences that live here:

* S7: an ECDH-ES ephemeral key is validated before any key agreement: same key type
  and curve as the recipient's key, on the curve (the JWK import checks it), no
  private members, and no small-order X25519/X448 point.
* S8: a PBES2 ``p2c`` must be an int between 1000 and the caller's cap; anything else
  (above the cap, 0, negative, float, string, bool) is refused before any derivation.
* S20: RSA1_5 follows RFC 7516 §11.5: a random CEK is drawn first and used whenever
  the padding or the length is wrong, so the caller sees the same error after the
  same work (the content decryption) as for a wrong tag.
* S21: every failure to unwrap a key is the uniform :class:`DecryptionError`.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Protocol

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, x448, x25519
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.concatkdf import ConcatKDFHash
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
from cryptography.hazmat.primitives.keywrap import (
    InvalidUnwrap,
    aes_key_unwrap,
    aes_key_wrap,
)

from .content import ContentEncryption
from .encoding import b64url_decode, b64url_encode
from .errors import (
    AlgorithmNotAllowedError,
    DecryptionError,
    JoseError,
    KeyMismatchError,
    MalformedError,
    UnsupportedError,
)
from .jwk import JWK, Operation

_FAILED = "the JWE could not be decrypted"

#: PBES2 iteration count used when encrypting, unless the header names one.
DEFAULT_P2C: Final = 600_000
#: The smallest PBES2 iteration count accepted (RFC 7518 §4.8.1.2 recommends 1000).
MIN_P2C: Final = 1000
MIN_P2S_BYTES: Final = 8

_X25519_P: Final = 2**255 - 19
_X448_P: Final = 2**448 - 2**224 - 1
# u-coordinates of the small-order points (after masking and reduction mod p): with any
# private key they give an all-zero shared secret, so a peer could force the CEK.
_SMALL_ORDER: Final[dict[str, tuple[int, int, frozenset[int]]]] = {
    # crv: (prime, mask applied to the little-endian u, small-order u values)
    "X25519": (
        _X25519_P,
        2**255 - 1,
        frozenset(
            {
                0,
                1,
                _X25519_P - 1,
                325606250916557431795983626356110631294008115727848805560023387167927233504,
                39382357235489614581723060781553021112529911719440698176882885853963445705823,
            }
        ),
    ),
    "X448": (_X448_P, 2**448 - 1, frozenset({0, 1, _X448_P - 1})),
}
_PBKDF2_HASHES: Final[dict[str, hashes.HashAlgorithm]] = {
    "sha256": hashes.SHA256(),
    "sha384": hashes.SHA384(),
    "sha512": hashes.SHA512(),
}
_EC_CURVES: Final = frozenset({"P-256", "P-384", "P-521"})
_OKP_CURVES: Final = frozenset({"X25519", "X448"})
_EPK_MEMBERS: Final = {
    "EC": frozenset({"kty", "crv", "x", "y"}),
    "OKP": frozenset({"kty", "crv", "x"}),
}


@dataclass(frozen=True, slots=True)
class Wrapped:
    """What wrapping produced for one recipient: the CEK, the JWE Encrypted Key and the
    header parameters the recipient needs (``epk``, ``iv``/``tag``, ``p2s``/``p2c``)."""

    cek: bytes
    encrypted_key: bytes
    header: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UnwrapOptions:
    """Caller choices that bound the work of unwrapping. ``max_p2c`` 0 means PBES2 is off."""

    max_p2c: int = 0


class _Wrap(Protocol):
    def __call__(
        self, key: JWK, enc: ContentEncryption, cek: bytes | None, header: Mapping[str, Any]
    ) -> Wrapped: ...


class _Unwrap(Protocol):
    def __call__(
        self,
        key: JWK,
        enc: ContentEncryption,
        encrypted_key: bytes,
        header: Mapping[str, Any],
        options: UnwrapOptions,
    ) -> bytes: ...


@dataclass(frozen=True, slots=True)
class KeyManagement:
    """One ``alg``.

    ``families`` maps each accepted ``kty`` to its curves (empty: any). ``key_bytes``
    is the exact size of an ``oct`` key (0: any). ``key_is_cek`` marks ``dir``, whose
    key must have the CEK's size and may carry the ``enc`` name as its ``alg``.
    ``direct`` algorithms make the CEK themselves, leave the encrypted key empty and
    serve one recipient only. ``encrypts`` is False for RSA1_5 (decryption only).
    """

    name: str
    families: Mapping[str, frozenset[str]]
    wrap_op: Operation
    unwrap_op: Operation
    wrap: _Wrap
    unwrap: _Unwrap
    key_bytes: int = 0
    key_is_cek: bool = False
    direct: bool = False
    encrypts: bool = True
    pbes2: bool = False

    def check_key(self, key: JWK, *, decrypt: bool, enc: ContentEncryption) -> None:
        """Raise a :class:`JWKError` unless ``key`` may serve this algorithm to encrypt
        (``decrypt=False``) or decrypt."""
        op = self.unwrap_op if decrypt else self.wrap_op
        kty = key.kty if key.kty in self.families else next(iter(self.families))
        alg_name = enc.name if self.key_is_cek and key.alg == enc.name else self.name
        key.check_usable(alg=alg_name, op=op, kty=kty, curves=self.families[kty])
        if kty == "oct":
            size = len(key.private_key_object)
            if self.key_bytes and size != self.key_bytes:
                raise KeyMismatchError(f"{self.name} needs a {self.key_bytes}-byte key")
            if self.key_is_cek and size != enc.key_bytes:
                raise KeyMismatchError(f"dir with {enc.name} needs a {enc.key_bytes}-byte key")
        if decrypt and not key.is_private:
            raise KeyMismatchError(f"decrypting {self.name} needs a private key")


# ---- primitives (module functions so that tests can count their calls) -----------------


def aes_kw_wrap(kek: bytes, cek: bytes) -> bytes:
    """RFC 3394 AES key wrap."""
    return aes_key_wrap(kek, cek)


def aes_kw_unwrap(kek: bytes, wrapped: bytes) -> bytes:
    """RFC 3394 AES key unwrap; any failure is :class:`DecryptionError`."""
    try:
        return aes_key_unwrap(kek, wrapped)
    except (InvalidUnwrap, ValueError):
        raise DecryptionError(_FAILED) from None


def agree(private: Any, public: Any) -> bytes:
    """The raw ECDH / X25519 / X448 shared secret Z."""
    if isinstance(private, ec.EllipticCurvePrivateKey):
        return private.exchange(ec.ECDH(), public)
    return private.exchange(public)  # type: ignore[no-any-return]


def pbkdf2(hash_name: str, password: bytes, salt: bytes, iterations: int, length: int) -> bytes:
    """PBKDF2-HMAC (RFC 8018) as PBES2 uses it (RFC 7518 §4.8)."""
    kdf = PBKDF2HMAC(_PBKDF2_HASHES[hash_name], length, salt, iterations)
    return kdf.derive(password)


def concat_kdf(z: bytes, algorithm_id: str, apu: bytes, apv: bytes, length: int) -> bytes:
    """RFC 7518 §4.6.2: Concat KDF (NIST SP 800-56A) with SHA-256."""

    def field_(data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + data

    other = (
        field_(algorithm_id.encode("ascii"))
        + field_(apu)
        + field_(apv)
        + struct.pack(">I", 8 * length)
    )
    return ConcatKDFHash(hashes.SHA256(), length, other).derive(z)


def check_ephemeral_key(epk: object, recipient: JWK) -> Any:
    """Validate an ECDH-ES ``epk`` against the recipient's key, before any agreement
    (S7). Returns the prepared public key object."""

    def invalid(why: str) -> MalformedError:
        return MalformedError(f"invalid ephemeral key 'epk': {why}", code="jwe_invalid_epk")

    if type(epk) is not dict:
        raise invalid("it must be a JSON object")
    if epk.get("kty") != recipient.kty or epk.get("crv") != recipient.crv:
        raise invalid("its key type and curve must be those of the recipient's key")
    allowed = _EPK_MEMBERS.get(recipient.kty, frozenset())
    extra = set(epk) - allowed - {"kid", "alg", "use", "key_ops", "ext"}
    if extra:
        raise invalid(f"unexpected members {sorted(extra)} (an ephemeral key is public)")
    try:
        # The import checks sizes and, for EC, that the point is on the curve.
        public = JWK({k: epk[k] for k in allowed if k in epk})
    except JoseError:
        raise invalid("not a valid public key on its curve") from None
    small = _SMALL_ORDER.get(recipient.crv or "")
    if small is not None:
        prime, mask, points = small
        raw = b64url_decode(epk["x"])
        if (int.from_bytes(raw, "little") & mask) % prime in points:
            raise invalid("a small-order point")
    return public.public_key_object


def _random_cek(enc: ContentEncryption) -> bytes:
    return secrets.token_bytes(enc.key_bytes)


def _oct(key: JWK) -> bytes:
    secret: bytes = key.private_key_object
    return secret


def _header_bytes(header: Mapping[str, Any], name: str, *, required: bool = True) -> bytes:
    value = header.get(name)
    if value is None and not required:
        return b""
    if type(value) is not str:
        raise MalformedError(
            f"the header's {name!r} must be a base64url string", code="jwe_malformed"
        )
    return b64url_decode(value, what=f"header {name!r}")


def _checked_cek(cek: bytes, enc: ContentEncryption) -> bytes:
    if len(cek) != enc.key_bytes:
        raise DecryptionError(_FAILED)
    return cek


def _given_cek(cek: bytes | None, enc: ContentEncryption) -> bytes:
    if cek is None:
        return _random_cek(enc)
    if len(cek) != enc.key_bytes:
        raise ValueError(f"{enc.name} needs a {enc.key_bytes}-byte CEK")
    return cek


# ---- factories ---------------------------------------------------------------------------

_OCT: Final = MappingProxyType({"oct": frozenset[str]()})


def _direct() -> KeyManagement:
    def wrap(
        key: JWK, enc: ContentEncryption, cek: bytes | None, header: Mapping[str, Any]
    ) -> Wrapped:
        if cek is not None:
            raise ValueError("'dir' serves a single recipient")
        return Wrapped(_oct(key), b"")

    def unwrap(
        key: JWK,
        enc: ContentEncryption,
        encrypted_key: bytes,
        header: Mapping[str, Any],
        options: UnwrapOptions,
    ) -> bytes:
        if encrypted_key:
            raise DecryptionError(_FAILED)
        return _checked_cek(_oct(key), enc)

    return KeyManagement(
        "dir", _OCT, "encrypt", "decrypt", wrap, unwrap, key_is_cek=True, direct=True
    )


def _aes_kw(bits: int) -> KeyManagement:
    def wrap(
        key: JWK, enc: ContentEncryption, cek: bytes | None, header: Mapping[str, Any]
    ) -> Wrapped:
        cek = _given_cek(cek, enc)
        return Wrapped(cek, aes_kw_wrap(_oct(key), cek))

    def unwrap(
        key: JWK,
        enc: ContentEncryption,
        encrypted_key: bytes,
        header: Mapping[str, Any],
        options: UnwrapOptions,
    ) -> bytes:
        return _checked_cek(aes_kw_unwrap(_oct(key), encrypted_key), enc)

    return KeyManagement(
        f"A{bits}KW", _OCT, "wrapKey", "unwrapKey", wrap, unwrap, key_bytes=bits // 8
    )


def _aes_gcm_kw(bits: int) -> KeyManagement:
    def wrap(
        key: JWK, enc: ContentEncryption, cek: bytes | None, header: Mapping[str, Any]
    ) -> Wrapped:
        cek = _given_cek(cek, enc)
        iv = secrets.token_bytes(12)
        sealed = AESGCM(_oct(key)).encrypt(iv, cek, b"")
        return Wrapped(
            cek, sealed[:-16], {"iv": b64url_encode(iv), "tag": b64url_encode(sealed[-16:])}
        )

    def unwrap(
        key: JWK,
        enc: ContentEncryption,
        encrypted_key: bytes,
        header: Mapping[str, Any],
        options: UnwrapOptions,
    ) -> bytes:
        iv = _header_bytes(header, "iv")
        tag = _header_bytes(header, "tag")
        if len(iv) != 12 or len(tag) != 16:
            raise DecryptionError(_FAILED)
        try:
            cek = AESGCM(_oct(key)).decrypt(iv, encrypted_key + tag, b"")
        except Exception:  # InvalidTag, and nothing else can tell more
            raise DecryptionError(_FAILED) from None
        return _checked_cek(cek, enc)

    return KeyManagement(
        f"A{bits}GCMKW", _OCT, "wrapKey", "unwrapKey", wrap, unwrap, key_bytes=bits // 8
    )


def _rsa_oaep(name: str, hash_cls: type[hashes.HashAlgorithm]) -> KeyManagement:
    pad = padding.OAEP(mgf=padding.MGF1(hash_cls()), algorithm=hash_cls(), label=None)
    rsa = MappingProxyType({"RSA": frozenset[str]()})

    def wrap(
        key: JWK, enc: ContentEncryption, cek: bytes | None, header: Mapping[str, Any]
    ) -> Wrapped:
        cek = _given_cek(cek, enc)
        return Wrapped(cek, key.public_key_object.encrypt(cek, pad))

    def unwrap(
        key: JWK,
        enc: ContentEncryption,
        encrypted_key: bytes,
        header: Mapping[str, Any],
        options: UnwrapOptions,
    ) -> bytes:
        try:
            cek: bytes = key.private_key_object.decrypt(encrypted_key, pad)
        except ValueError:
            raise DecryptionError(_FAILED) from None
        return _checked_cek(cek, enc)

    return KeyManagement(name, rsa, "wrapKey", "unwrapKey", wrap, unwrap)


def _rsa1_5() -> KeyManagement:
    pad = padding.PKCS1v15()

    def wrap(
        key: JWK, enc: ContentEncryption, cek: bytes | None, header: Mapping[str, Any]
    ) -> Wrapped:
        raise ValueError("RSA1_5 is never used to encrypt (RFC 7516 §11.5, S20)")

    def unwrap(
        key: JWK,
        enc: ContentEncryption,
        encrypted_key: bytes,
        header: Mapping[str, Any],
        options: UnwrapOptions,
    ) -> bytes:
        # RFC 7516 §11.5 / RFC 3218 §2.3.2: draw the random CEK first; on bad padding or a
        # wrong length, carry on with it. The content decryption then fails on the tag,
        # with the same error and after the same work as a good padding with a wrong tag.
        fallback = _random_cek(enc)
        try:
            cek: bytes = key.private_key_object.decrypt(encrypted_key, pad)
        except ValueError:
            cek = fallback
        return cek if len(cek) == enc.key_bytes else fallback

    return KeyManagement(
        "RSA1_5",
        MappingProxyType({"RSA": frozenset[str]()}),
        "wrapKey",
        "unwrapKey",
        wrap,
        unwrap,
        encrypts=False,
    )


def _ecdh_es(kw_bits: int | None) -> KeyManagement:
    name = "ECDH-ES" if kw_bits is None else f"ECDH-ES+A{kw_bits}KW"
    families = MappingProxyType({"EC": _EC_CURVES, "OKP": _OKP_CURVES})

    def derive(z: bytes, enc: ContentEncryption, header: Mapping[str, Any]) -> bytes:
        apu = _header_bytes(header, "apu", required=False)
        apv = _header_bytes(header, "apv", required=False)
        if kw_bits is None:
            return concat_kdf(z, enc.name, apu, apv, enc.key_bytes)
        return concat_kdf(z, name, apu, apv, kw_bits // 8)

    def wrap(
        key: JWK, enc: ContentEncryption, cek: bytes | None, header: Mapping[str, Any]
    ) -> Wrapped:
        if kw_bits is None and cek is not None:
            raise ValueError("'ECDH-ES' (direct key agreement) serves a single recipient")
        recipient = key.public_key_object
        if isinstance(recipient, ec.EllipticCurvePublicKey):
            ephemeral: Any = ec.generate_private_key(recipient.curve)
        elif isinstance(recipient, x25519.X25519PublicKey):
            ephemeral = x25519.X25519PrivateKey.generate()
        else:
            ephemeral = x448.X448PrivateKey.generate()
        epk = JWK.from_object(ephemeral.public_key()).to_dict()
        derived = derive(agree(ephemeral, recipient), enc, header)
        if kw_bits is None:
            return Wrapped(derived, b"", {"epk": epk})
        cek = _given_cek(cek, enc)
        return Wrapped(cek, aes_kw_wrap(derived, cek), {"epk": epk})

    def unwrap(
        key: JWK,
        enc: ContentEncryption,
        encrypted_key: bytes,
        header: Mapping[str, Any],
        options: UnwrapOptions,
    ) -> bytes:
        if "epk" not in header:
            raise MalformedError(f"{name} needs an 'epk' header", code="jwe_malformed")
        peer = check_ephemeral_key(header["epk"], key)  # S7: before any agreement
        try:
            z = agree(key.private_key_object, peer)
        except ValueError:  # an all-zero shared secret
            raise DecryptionError(_FAILED) from None
        derived = derive(z, enc, header)
        if kw_bits is None:
            if encrypted_key:
                raise DecryptionError(_FAILED)
            return derived
        return _checked_cek(aes_kw_unwrap(derived, encrypted_key), enc)

    return KeyManagement(
        name, families, "deriveKey", "deriveKey", wrap, unwrap, direct=kw_bits is None
    )


def _pbes2(hash_name: str, kw_bits: int) -> KeyManagement:
    name = f"PBES2-HS{hash_name[3:]}+A{kw_bits}KW"

    def salt(p2s: bytes) -> bytes:
        return name.encode("ascii") + b"\x00" + p2s

    def wrap(
        key: JWK, enc: ContentEncryption, cek: bytes | None, header: Mapping[str, Any]
    ) -> Wrapped:
        p2c = header.get("p2c", DEFAULT_P2C)
        if type(p2c) is not int or p2c < MIN_P2C:
            raise ValueError(f"'p2c' must be an int of at least {MIN_P2C}")
        p2s = _header_bytes(header, "p2s") if "p2s" in header else secrets.token_bytes(16)
        if len(p2s) < MIN_P2S_BYTES:
            raise ValueError(f"'p2s' must be at least {MIN_P2S_BYTES} bytes")
        cek = _given_cek(cek, enc)
        kek = pbkdf2(hash_name, _oct(key), salt(p2s), p2c, kw_bits // 8)
        return Wrapped(cek, aes_kw_wrap(kek, cek), {"p2s": b64url_encode(p2s), "p2c": p2c})

    def unwrap(
        key: JWK,
        enc: ContentEncryption,
        encrypted_key: bytes,
        header: Mapping[str, Any],
        options: UnwrapOptions,
    ) -> bytes:
        # S8: every check on p2c happens before any derivation.
        p2c = header.get("p2c")
        if type(p2c) is not int:
            raise MalformedError("'p2c' must be an integer", code="jwe_invalid_p2c")
        if p2c < MIN_P2C or p2c > options.max_p2c:
            raise MalformedError(
                f"'p2c' must be between {MIN_P2C} and {options.max_p2c}", code="jwe_invalid_p2c"
            )
        p2s = _header_bytes(header, "p2s")
        if len(p2s) < MIN_P2S_BYTES:
            raise MalformedError(
                f"'p2s' must be at least {MIN_P2S_BYTES} bytes", code="jwe_malformed"
            )
        kek = pbkdf2(hash_name, _oct(key), salt(p2s), p2c, kw_bits // 8)
        return _checked_cek(aes_kw_unwrap(kek, encrypted_key), enc)

    return KeyManagement(name, _OCT, "deriveKey", "deriveKey", wrap, unwrap, pbes2=True)


KEY_MANAGEMENT: Mapping[str, KeyManagement] = MappingProxyType(
    {
        alg.name: alg
        for alg in (
            _direct(),
            _aes_kw(128),
            _aes_kw(192),
            _aes_kw(256),
            _aes_gcm_kw(128),
            _aes_gcm_kw(192),
            _aes_gcm_kw(256),
            _rsa_oaep("RSA-OAEP", hashes.SHA1),
            _rsa_oaep("RSA-OAEP-256", hashes.SHA256),
            _rsa_oaep("RSA-OAEP-384", hashes.SHA384),
            _rsa_oaep("RSA-OAEP-512", hashes.SHA512),
            _rsa1_5(),
            _ecdh_es(None),
            _ecdh_es(128),
            _ecdh_es(192),
            _ecdh_es(256),
            _pbes2("sha256", 128),
            _pbes2("sha384", 192),
            _pbes2("sha512", 256),
        )
    }
)

#: Every ``alg`` tokensmith implements for JWE, in table order.
ALL_KEY_MANAGEMENT: tuple[str, ...] = tuple(KEY_MANAGEMENT)


def key_management(name: object) -> KeyManagement:
    """Resolve a JWE ``alg`` name from a header or a caller."""
    if type(name) is not str:
        raise AlgorithmNotAllowedError("the 'alg' header must be a string")
    alg = KEY_MANAGEMENT.get(name)
    if alg is None:
        if name.lower() == "none":
            raise AlgorithmNotAllowedError("'alg: none' is never accepted")
        raise UnsupportedError(
            f"unsupported key management algorithm {name!r}", code="jwe_unsupported_alg"
        )
    return alg


__all__ = [
    "ALL_KEY_MANAGEMENT",
    "DEFAULT_P2C",
    "KEY_MANAGEMENT",
    "MIN_P2C",
    "KeyManagement",
    "UnwrapOptions",
    "Wrapped",
    "aes_kw_unwrap",
    "aes_kw_wrap",
    "agree",
    "check_ephemeral_key",
    "concat_kdf",
    "key_management",
    "pbkdf2",
]

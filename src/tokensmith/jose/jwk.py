"""JSON Web Keys (RFC 7517, RFC 7518 §6, RFC 8037, RFC 7638 thumbprints).

A :class:`JWK` is parsed and validated once, when it is built: the cryptography key
object is prepared then, weak keys are refused (S17, S18), and every later use only
checks that the key may serve the requested algorithm and operation (S2, S19), with
the result cached per (algorithm, operation).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final, Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa, x448, x25519
from cryptography.x509 import load_der_x509_certificate, load_pem_x509_certificate

from .algorithms import SigningAlgorithm, signing_algorithm
from .encoding import b64url_decode, b64url_encode, dump_json, parse_json_object
from .errors import (
    InvalidKeyError,
    JoseError,
    KeyMismatchError,
    UnsupportedError,
    WeakKeyError,
)

Operation = Literal[
    "sign", "verify", "encrypt", "decrypt", "wrapKey", "unwrapKey", "deriveKey", "deriveBits"
]
_OPERATIONS: Final = frozenset(
    {"sign", "verify", "encrypt", "decrypt", "wrapKey", "unwrapKey", "deriveKey", "deriveBits"}
)
_SIGNATURE_OPS: Final = frozenset({"sign", "verify"})
# key_ops of a private key, and the op its public half offers instead.
_PUBLIC_OP: Final = {"sign": "verify", "decrypt": "encrypt", "unwrapKey": "wrapKey"}
_PRIVATE_ONLY_OPS: Final = frozenset({"sign", "decrypt", "unwrapKey"})

MIN_RSA_BITS: Final = 2048
MAX_RSA_BITS: Final = 16384
MAX_RSA_EXPONENT_BITS: Final = 64

# crv -> (cryptography curve class, coordinate size in bytes)
_EC_CURVES: Final[dict[str, tuple[type[ec.EllipticCurve], int]]] = {
    "P-256": (ec.SECP256R1, 32),
    "P-384": (ec.SECP384R1, 48),
    "P-521": (ec.SECP521R1, 66),
    "secp256k1": (ec.SECP256K1, 32),
}
_EC_CRV_BY_CURVE_NAME: Final = {cls().name: crv for crv, (cls, _) in _EC_CURVES.items()}

_PrivateOKP = (
    ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
    | x25519.X25519PrivateKey
    | x448.X448PrivateKey
)
_PublicOKP = (
    ed25519.Ed25519PublicKey | ed448.Ed448PublicKey | x25519.X25519PublicKey | x448.X448PublicKey
)

# crv -> (private class, public class, key size in bytes)
_OKP_CURVES: Final[dict[str, tuple[Any, Any, int]]] = {
    "Ed25519": (ed25519.Ed25519PrivateKey, ed25519.Ed25519PublicKey, 32),
    "Ed448": (ed448.Ed448PrivateKey, ed448.Ed448PublicKey, 57),
    "X25519": (x25519.X25519PrivateKey, x25519.X25519PublicKey, 32),
    "X448": (x448.X448PrivateKey, x448.X448PublicKey, 56),
}

_PUBLIC_MEMBERS: Final = {
    "oct": (),
    "RSA": ("n", "e"),
    "EC": ("crv", "x", "y"),
    "OKP": ("crv", "x"),
}
_PRIVATE_MEMBERS: Final = {
    "oct": ("k",),
    "RSA": ("d", "p", "q", "dp", "dq", "qi", "oth"),
    "EC": ("d",),
    "OKP": ("d",),
}
# RFC 7638 §3.2: the required members, in lexicographic order.
_THUMBPRINT_MEMBERS: Final = {
    "oct": ("k", "kty"),
    "RSA": ("e", "kty", "n"),
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}
_THUMBPRINT_HASHES: Final = {"sha256", "sha384", "sha512"}

PublicKeyObject = rsa.RSAPublicKey | ec.EllipticCurvePublicKey | _PublicOKP
PrivateKeyObject = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | _PrivateOKP


def _int_to_b64(value: int, size: int | None = None) -> str:
    length = size if size is not None else max(1, (value.bit_length() + 7) // 8)
    return b64url_encode(value.to_bytes(length, "big"))


def _member_bytes(members: Mapping[str, Any], name: str, *, required: bool = True) -> bytes:
    value = members.get(name)
    if value is None:
        if required:
            raise InvalidKeyError(f"JWK member {name!r} is missing")
        return b""
    if type(value) is not str:
        raise InvalidKeyError(f"JWK member {name!r} must be a base64url string")
    try:
        return b64url_decode(value, what=f"JWK member {name!r}")
    except JoseError:
        raise InvalidKeyError(f"JWK member {name!r} is not strict base64url") from None


def _member_uint(members: Mapping[str, Any], name: str) -> int:
    raw = _member_bytes(members, name)
    if not raw:
        raise InvalidKeyError(f"JWK member {name!r} is empty")
    return int.from_bytes(raw, "big")


def _check_rsa_public(n: int, e: int) -> None:
    bits = n.bit_length()
    if bits < MIN_RSA_BITS:
        raise WeakKeyError(f"RSA keys must have at least {MIN_RSA_BITS} bits, this one has {bits}")
    if bits > MAX_RSA_BITS:
        raise WeakKeyError(f"RSA keys above {MAX_RSA_BITS} bits are refused")
    if e < 3 or e % 2 == 0 or e.bit_length() > MAX_RSA_EXPONENT_BITS:
        raise WeakKeyError("RSA public exponent must be odd, at least 3 and at most 64 bits")


def _rsa_from_members(members: Mapping[str, Any]) -> tuple[Any, Any]:
    n = _member_uint(members, "n")
    e = _member_uint(members, "e")
    _check_rsa_public(n, e)
    public_numbers = rsa.RSAPublicNumbers(e, n)
    if "d" not in members:
        if any(m in members for m in ("p", "q", "dp", "dq", "qi")):
            raise InvalidKeyError("RSA private members given without 'd'")
        try:
            return None, public_numbers.public_key()
        except ValueError as exc:
            raise InvalidKeyError(f"invalid RSA public key: {exc}") from None
    if "oth" in members:
        raise UnsupportedError("multi-prime RSA keys ('oth') are not supported")
    d = _member_uint(members, "d")
    crt = ("p", "q", "dp", "dq", "qi")
    present = [m in members for m in crt]
    try:
        if all(present):
            p, q, dp, dq, qi = (_member_uint(members, m) for m in crt)
        elif not any(present):
            p, q = rsa.rsa_recover_prime_factors(n, e, d)
            dp, dq, qi = rsa.rsa_crt_dmp1(d, p), rsa.rsa_crt_dmq1(d, q), rsa.rsa_crt_iqmp(p, q)
        else:
            raise InvalidKeyError("RSA private key must have all of p, q, dp, dq, qi or none")
        private = rsa.RSAPrivateNumbers(p, q, d, dp, dq, qi, public_numbers).private_key()
    except (ValueError, TypeError) as exc:
        raise InvalidKeyError(f"inconsistent RSA private key: {exc}") from None
    return private, private.public_key()


def _ec_from_members(members: Mapping[str, Any]) -> tuple[Any, Any]:
    crv = members.get("crv")
    if type(crv) is not str or crv not in _EC_CURVES:
        raise UnsupportedError(f"unsupported EC curve {crv!r}", code="jwk_unsupported_curve")
    curve_cls, size = _EC_CURVES[crv]
    x_raw = _member_bytes(members, "x")
    y_raw = _member_bytes(members, "y")
    if len(x_raw) != size or len(y_raw) != size:
        raise InvalidKeyError(f"EC {crv} coordinates must be exactly {size} bytes")
    x, y = int.from_bytes(x_raw, "big"), int.from_bytes(y_raw, "big")
    try:
        public = ec.EllipticCurvePublicNumbers(x, y, curve_cls()).public_key()
    except ValueError:
        raise InvalidKeyError(f"the point is not on curve {crv}") from None
    if "d" not in members:
        return None, public
    d_raw = _member_bytes(members, "d")
    if len(d_raw) != size:
        raise InvalidKeyError(f"EC {crv} private key 'd' must be exactly {size} bytes")
    try:
        private = ec.derive_private_key(int.from_bytes(d_raw, "big"), curve_cls())
    except ValueError:
        raise InvalidKeyError(f"EC {crv} private scalar is out of range") from None
    derived = private.public_key().public_numbers()
    if derived.x != x or derived.y != y:
        raise InvalidKeyError("EC private key 'd' does not match 'x' and 'y'")
    return private, private.public_key()


def _okp_from_members(members: Mapping[str, Any]) -> tuple[Any, Any]:
    crv = members.get("crv")
    if type(crv) is not str or crv not in _OKP_CURVES:
        raise UnsupportedError(f"unsupported OKP curve {crv!r}", code="jwk_unsupported_curve")
    private_cls, public_cls, size = _OKP_CURVES[crv]
    x = _member_bytes(members, "x")
    if len(x) != size:
        raise InvalidKeyError(f"OKP {crv} 'x' must be exactly {size} bytes")
    try:
        public = public_cls.from_public_bytes(x)
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidKeyError(f"invalid OKP {crv} public key") from None
    if "d" not in members:
        return None, public
    d = _member_bytes(members, "d")
    if len(d) != size:
        raise InvalidKeyError(f"OKP {crv} private key 'd' must be exactly {size} bytes")
    try:
        private = private_cls.from_private_bytes(d)
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidKeyError(f"invalid OKP {crv} private key") from None
    derived = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    if derived != x:
        raise InvalidKeyError("OKP private key 'd' does not match 'x'")
    return private, public


def _members_from_object(obj: Any) -> dict[str, Any]:
    """JWK members for a cryptography key object (public or private)."""
    if isinstance(obj, rsa.RSAPrivateKey):
        pn = obj.private_numbers()
        _check_rsa_public(pn.public_numbers.n, pn.public_numbers.e)
        return {
            "kty": "RSA",
            "n": _int_to_b64(pn.public_numbers.n),
            "e": _int_to_b64(pn.public_numbers.e),
            "d": _int_to_b64(pn.d),
            "p": _int_to_b64(pn.p),
            "q": _int_to_b64(pn.q),
            "dp": _int_to_b64(pn.dmp1),
            "dq": _int_to_b64(pn.dmq1),
            "qi": _int_to_b64(pn.iqmp),
        }
    if isinstance(obj, rsa.RSAPublicKey):
        nums = obj.public_numbers()
        _check_rsa_public(nums.n, nums.e)
        return {"kty": "RSA", "n": _int_to_b64(nums.n), "e": _int_to_b64(nums.e)}
    if isinstance(obj, (ec.EllipticCurvePrivateKey, ec.EllipticCurvePublicKey)):
        crv = _EC_CRV_BY_CURVE_NAME.get(obj.curve.name)
        if crv is None:
            raise UnsupportedError(
                f"unsupported EC curve {obj.curve.name}", code="jwk_unsupported_curve"
            )
        size = _EC_CURVES[crv][1]
        public = obj.public_key() if isinstance(obj, ec.EllipticCurvePrivateKey) else obj
        pub = public.public_numbers()
        members = {
            "kty": "EC",
            "crv": crv,
            "x": _int_to_b64(pub.x, size),
            "y": _int_to_b64(pub.y, size),
        }
        if isinstance(obj, ec.EllipticCurvePrivateKey):
            members["d"] = _int_to_b64(obj.private_numbers().private_value, size)
        return members
    for crv, (private_cls, public_cls, _size) in _OKP_CURVES.items():
        if isinstance(obj, private_cls):
            raw_public = obj.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            raw_private = obj.private_bytes(
                serialization.Encoding.Raw,
                serialization.PrivateFormat.Raw,
                serialization.NoEncryption(),
            )
            return {
                "kty": "OKP",
                "crv": crv,
                "x": b64url_encode(raw_public),
                "d": b64url_encode(raw_private),
            }
        if isinstance(obj, public_cls):
            raw = obj.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
            return {"kty": "OKP", "crv": crv, "x": b64url_encode(raw)}
    if isinstance(obj, (dsa.DSAPrivateKey, dsa.DSAPublicKey)):
        raise WeakKeyError("DSA keys are refused: not a JOSE key type, and weak")
    raise UnsupportedError(f"unsupported key type {type(obj).__name__}", code="jwk_unsupported_kty")


def _validate_metadata(members: Mapping[str, Any]) -> None:
    for name in ("kid", "alg", "use"):
        if name in members and type(members[name]) is not str:
            raise InvalidKeyError(f"JWK member {name!r} must be a string")
    if "key_ops" in members:
        ops = members["key_ops"]
        if type(ops) is not list or not all(type(op) is str for op in ops):
            raise InvalidKeyError("JWK member 'key_ops' must be an array of strings")
        if len(set(ops)) != len(ops):
            raise InvalidKeyError("JWK member 'key_ops' has duplicate values")
        if "use" in members:
            use = members["use"]
            expected = "sig" if set(ops) <= _SIGNATURE_OPS else "enc"
            if set(ops) & _SIGNATURE_OPS and set(ops) - _SIGNATURE_OPS:
                raise InvalidKeyError("JWK 'key_ops' mixes signature and encryption operations")
            if ops and use != expected:
                raise InvalidKeyError(f"JWK 'use' {use!r} contradicts 'key_ops' {ops!r}")
    if "x5c" in members:
        x5c = members["x5c"]
        if type(x5c) is not list or not all(type(c) is str for c in x5c):
            raise InvalidKeyError("JWK member 'x5c' must be an array of strings")


_LOADERS_FROM_MEMBERS: Final[dict[str, Callable[[Mapping[str, Any]], tuple[Any, Any]]]] = {
    "RSA": _rsa_from_members,
    "EC": _ec_from_members,
    "OKP": _okp_from_members,
}

# What JWK.generate makes for an algorithm: ("oct", size) | ("RSA", bits) | ("EC"/"OKP", crv).
_GENERATE: Final[dict[str, tuple[str, int | str]]] = {
    "HS256": ("oct", 32),
    "HS384": ("oct", 48),
    "HS512": ("oct", 64),
    **dict.fromkeys(("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), ("RSA", 2048)),
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "ES256K": ("EC", "secp256k1"),
    "EdDSA": ("OKP", "Ed25519"),
    "Ed25519": ("OKP", "Ed25519"),
    "Ed448": ("OKP", "Ed448"),
    # Key management (JWE): the key a recipient holds.
    **{a: ("oct", n) for a, n in (("A128KW", 16), ("A192KW", 24), ("A256KW", 32))},
    **{a: ("oct", n) for a, n in (("A128GCMKW", 16), ("A192GCMKW", 24), ("A256GCMKW", 32))},
    **dict.fromkeys(("RSA-OAEP", "RSA-OAEP-256", "RSA-OAEP-384", "RSA-OAEP-512"), ("RSA", 2048)),
    **dict.fromkeys(
        ("ECDH-ES", "ECDH-ES+A128KW", "ECDH-ES+A192KW", "ECDH-ES+A256KW"), ("EC", "P-256")
    ),
}


def generatable_algorithms() -> tuple[str, ...]:
    """The algorithms :meth:`JWK.generate` can make a key for."""
    return tuple(_GENERATE)


class JWK:
    """An immutable, validated JSON Web Key.

    Build one with :meth:`from_dict`, :meth:`from_json`, :meth:`from_pem`,
    :meth:`from_der`, :meth:`import_key`, :meth:`from_secret`,
    :meth:`from_object` or :meth:`generate`.
    """

    __slots__ = (
        "_members",
        "_prepared",
        "_private",
        "_public",
        "_public_jwk",
        "_thumbprints",
        "alg",
        "crv",
        "key_ops",
        "kid",
        "kty",
        "use",
    )

    kty: str
    crv: str | None
    kid: str | None
    alg: str | None
    use: str | None
    key_ops: tuple[str, ...] | None

    def __init__(self, members: Mapping[str, Any]) -> None:
        """Validate ``members`` (a JWK as a dict). Prefer the named constructors."""
        if not isinstance(members, Mapping):
            raise InvalidKeyError("a JWK must be a JSON object")
        members = dict(members)
        kty = members.get("kty")
        if type(kty) is not str:
            raise InvalidKeyError("JWK member 'kty' is missing or not a string")
        _validate_metadata(members)
        private: Any
        public: Any
        if kty == "oct":
            for name in _PRIVATE_MEMBERS["RSA"] + ("n", "e", "x", "y", "crv"):
                if name in members:
                    raise InvalidKeyError(f"an 'oct' JWK must not have member {name!r}")
            secret = _member_bytes(members, "k")
            if not secret:
                raise WeakKeyError("empty symmetric key ('k' is empty)")
            private = public = secret
        elif kty in _LOADERS_FROM_MEMBERS:
            if "k" in members:
                raise InvalidKeyError(f"a {kty!r} JWK must not have member 'k'")
            private, public = _LOADERS_FROM_MEMBERS[kty](members)
        else:
            raise UnsupportedError(f"unsupported key type {kty!r}", code="jwk_unsupported_kty")
        self._members: dict[str, Any] = members
        self._private = private
        self._public = public
        self._prepared: dict[tuple[str, str], Any] = {}
        self._thumbprints: dict[str, str] = {}
        self._public_jwk: JWK | None = None
        self.kty = kty
        crv = members.get("crv")
        self.crv = crv if type(crv) is str else None
        self.kid = members.get("kid")
        self.alg = members.get("alg")
        self.use = members.get("use")
        ops = members.get("key_ops")
        self.key_ops = tuple(ops) if ops is not None else None
        if self.alg is not None and self.kty == "oct":
            self._check_hmac_length(self.alg)

    # ---- construction -------------------------------------------------------------

    @classmethod
    def from_dict(cls, members: Mapping[str, Any]) -> JWK:
        return cls(members)

    @classmethod
    def from_json(cls, text: str | bytes) -> JWK:
        return cls(parse_json_object(text, max_size=64 * 1024, max_depth=8, what="JWK"))

    @classmethod
    def from_object(
        cls,
        key: Any,
        *,
        kid: str | None = None,
        alg: str | None = None,
        use: str | None = None,
    ) -> JWK:
        """Wrap a ``cryptography`` key object."""
        members = _members_from_object(key)
        return cls._with_metadata(members, kid=kid, alg=alg, use=use)

    @classmethod
    def from_pem(
        cls,
        data: str | bytes,
        *,
        password: bytes | None = None,
        kid: str | None = None,
        alg: str | None = None,
        use: str | None = None,
    ) -> JWK:
        """Import a PEM private key (PKCS#8, PKCS#1, SEC1, OpenSSH), public key
        (SPKI, PKCS#1, OpenSSH one-line) or X.509 certificate."""
        raw = data.encode("utf-8") if isinstance(data, str) else data
        obj = _load_pem_or_ssh(raw, password)
        return cls.from_object(obj, kid=kid, alg=alg, use=use)

    @classmethod
    def from_der(
        cls,
        data: bytes,
        *,
        password: bytes | None = None,
        kid: str | None = None,
        alg: str | None = None,
        use: str | None = None,
    ) -> JWK:
        """Import a DER private key (PKCS#8), public key (SPKI) or X.509 certificate."""
        obj = _load_der(data, password)
        return cls.from_object(obj, kid=kid, alg=alg, use=use)

    @classmethod
    def from_secret(cls, secret: bytes, *, kid: str | None = None, alg: str | None = None) -> JWK:
        """A symmetric (``oct``) key. Refuses anything that looks like a public or
        private key (the HMAC/RSA confusion, S2)."""
        if not isinstance(secret, (bytes, bytearray)):
            raise TypeError("from_secret takes bytes")
        secret = bytes(secret)
        if _looks_like_asymmetric_key(secret):
            raise KeyMismatchError(
                "this secret is an asymmetric key (PEM, OpenSSH, DER, certificate or JWK); "
                "import it with JWK.import_key instead of using it as an HMAC secret"
            )
        return cls._with_metadata(
            {"kty": "oct", "k": b64url_encode(secret)}, kid=kid, alg=alg, use=None
        )

    @classmethod
    def import_key(
        cls,
        data: str | bytes | Mapping[str, Any],
        *,
        password: bytes | None = None,
        kid: str | None = None,
        alg: str | None = None,
        use: str | None = None,
    ) -> JWK:
        """Import a key in any supported form: JWK dict or JSON, PEM, OpenSSH, or DER."""
        if isinstance(data, Mapping):
            return cls._with_metadata(dict(data), kid=kid, alg=alg, use=use, override=False)
        raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
        stripped = raw.lstrip()
        if stripped.startswith(b"{"):
            members = parse_json_object(stripped, max_size=64 * 1024, max_depth=8, what="JWK")
            return cls._with_metadata(members, kid=kid, alg=alg, use=use, override=False)
        if stripped.startswith((b"-----BEGIN", b"ssh-", b"ecdsa-sha2-")):
            return cls.from_pem(stripped, password=password, kid=kid, alg=alg, use=use)
        return cls.from_der(raw, password=password, kid=kid, alg=alg, use=use)

    @classmethod
    def generate(cls, alg: str, *, kid: str | None = None, rsa_bits: int = 2048) -> JWK:
        """A new private key for ``alg``; ``kid`` defaults to the RFC 7638 thumbprint."""
        spec = _GENERATE.get(alg)
        if spec is None:
            raise ValueError(f"cannot generate a key for algorithm {alg!r}")
        kty, param = spec
        members: dict[str, Any]
        if kty == "oct":
            assert isinstance(param, int)
            members = {"kty": "oct", "k": b64url_encode(secrets.token_bytes(param))}
        elif kty == "RSA":
            if rsa_bits < MIN_RSA_BITS or rsa_bits > MAX_RSA_BITS:
                raise ValueError(f"rsa_bits must be between {MIN_RSA_BITS} and {MAX_RSA_BITS}")
            members = _members_from_object(
                rsa.generate_private_key(public_exponent=65537, key_size=rsa_bits)
            )
        elif kty == "EC":
            assert isinstance(param, str)
            members = _members_from_object(ec.generate_private_key(_EC_CURVES[param][0]()))
        else:
            assert isinstance(param, str)
            members = _members_from_object(_OKP_CURVES[param][0].generate())
        members["alg"] = alg
        key = cls(members)
        return key._replace(kid=kid if kid is not None else key.thumbprint())

    @classmethod
    def _with_metadata(
        cls,
        members: dict[str, Any],
        *,
        kid: str | None,
        alg: str | None,
        use: str | None,
        override: bool = True,
    ) -> JWK:
        for name, value in (("kid", kid), ("alg", alg), ("use", use)):
            if value is not None:
                if not override and name in members and members[name] != value:
                    raise ValueError(f"JWK already has {name}={members[name]!r}, not {value!r}")
                members[name] = value
        return cls(members)

    def _replace(self, **changes: Any) -> JWK:
        members = dict(self._members)
        for name, value in changes.items():
            if value is None:
                members.pop(name, None)
            else:
                members[name] = value
        return JWK(members)

    def with_kid(self, kid: str) -> JWK:
        return self._replace(kid=kid)

    # ---- inspection and export ------------------------------------------------------

    @property
    def is_private(self) -> bool:
        """True when the key holds private (or secret) material."""
        return self.kty == "oct" or self._private is not None

    @property
    def is_symmetric(self) -> bool:
        return self.kty == "oct"

    @property
    def private_key_object(self) -> Any:
        """The prepared ``cryptography`` private key (or the secret bytes), or None."""
        return self._private

    @property
    def public_key_object(self) -> Any:
        """The prepared ``cryptography`` public key (or the secret bytes for ``oct``)."""
        return self._public

    def public(self) -> JWK:
        """The public half of this key (itself when already public)."""
        if self.kty == "oct":
            raise ValueError("a symmetric key has no public form")
        if self._private is None:
            return self
        if self._public_jwk is None:
            members = {
                k: v for k, v in self._members.items() if k not in _PRIVATE_MEMBERS[self.kty]
            }
            if self.key_ops is not None:
                members["key_ops"] = list(
                    dict.fromkeys(_PUBLIC_OP.get(op, op) for op in self.key_ops)
                )
            self._public_jwk = JWK(members)
        return self._public_jwk

    def to_dict(self) -> dict[str, Any]:
        """Every member this key holds (private ones included: use ``public()`` first
        to publish a key)."""
        return dict(self._members)

    def to_json(self) -> str:
        return dump_json(self._members).decode("utf-8")

    def to_pem(self, *, password: bytes | None = None) -> bytes:
        """PKCS#8 PEM for a private key (encrypted when ``password`` is given), SPKI PEM
        for a public one."""
        return self._serialize(serialization.Encoding.PEM, password)

    def to_der(self, *, password: bytes | None = None) -> bytes:
        return self._serialize(serialization.Encoding.DER, password)

    def _serialize(self, encoding: serialization.Encoding, password: bytes | None) -> bytes:
        if self.kty == "oct":
            raise ValueError("a symmetric key has no PEM/DER form")
        if self._private is not None:
            enc: serialization.KeySerializationEncryption = (
                serialization.BestAvailableEncryption(password)
                if password
                else serialization.NoEncryption()
            )
            return self._private.private_bytes(  # type: ignore[no-any-return]
                encoding, serialization.PrivateFormat.PKCS8, enc
            )
        return self._public.public_bytes(  # type: ignore[no-any-return]
            encoding, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def thumbprint(self, hash_name: str = "sha256") -> str:
        """RFC 7638 thumbprint, base64url."""
        cached = self._thumbprints.get(hash_name)
        if cached is None:
            if hash_name not in _THUMBPRINT_HASHES:
                raise ValueError(f"unsupported thumbprint hash {hash_name!r}")
            required = {m: self._members[m] for m in _THUMBPRINT_MEMBERS[self.kty]}
            digest = hashlib.new(hash_name, dump_json(required)).digest()
            cached = self._thumbprints[hash_name] = b64url_encode(digest)
        return cached

    def __repr__(self) -> str:
        kind = "private" if self._private is not None and self.kty != "oct" else "public"
        if self.kty == "oct":
            kind = "secret"
        crv = f" crv={self.crv}" if self.crv else ""
        return f"<JWK {self.kty}{crv} {kind} kid={self.kid!r} alg={self.alg!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JWK) and self._members == other._members

    def __hash__(self) -> int:
        return hash(self.thumbprint()) if self.kty != "oct" else hash(self._members.get("k"))

    # ---- use checks -----------------------------------------------------------------

    def _check_hmac_length(self, alg_name: str) -> None:
        try:
            alg = signing_algorithm(alg_name)
        except JoseError:
            return
        if alg.kty == "oct" and len(self._private) < alg.min_key_bytes:
            raise WeakKeyError(
                f"{alg.name} needs a key of at least {alg.min_key_bytes} bytes "
                f"(RFC 7518 §3.2), this one has {len(self._private)}"
            )

    def check_usable(
        self,
        *,
        alg: str,
        op: Operation,
        kty: str,
        curves: Iterable[str] = (),
        min_key_bytes: int = 0,
    ) -> None:
        """Raise unless this key may perform ``op`` with ``alg`` (S2, S19).

        ``kty`` / ``curves`` are what the algorithm accepts: the key decides the family.
        """
        if op not in _OPERATIONS:
            raise ValueError(f"unknown key operation {op!r}")
        if self.kty != kty:
            raise KeyMismatchError(f"{alg} needs a {kty} key, this is a {self.kty} key")
        curves = frozenset(curves)
        if curves and self.crv not in curves:
            raise KeyMismatchError(f"{alg} does not work with curve {self.crv!r}")
        if self.alg is not None and self.alg != alg:
            raise KeyMismatchError(f"this key is for {self.alg!r}, not {alg!r}")
        expected_use = "sig" if op in _SIGNATURE_OPS else "enc"
        if self.use is not None and self.use != expected_use:
            raise KeyMismatchError(f"this key's use is {self.use!r}, not {expected_use!r}")
        if self.key_ops is not None and op not in self.key_ops:
            raise KeyMismatchError(f"this key's key_ops do not include {op!r}")
        if op in _PRIVATE_ONLY_OPS and not self.is_private:
            raise KeyMismatchError(f"{op} needs a private key")
        if min_key_bytes and len(self._private) < min_key_bytes:
            raise WeakKeyError(
                f"{alg} needs a key of at least {min_key_bytes} bytes, this one has "
                f"{len(self._private)}"
            )

    def signing_key_for(self, alg: SigningAlgorithm) -> Any:
        """The prepared key object to sign with ``alg``, checked once and cached."""
        return self._prepare(alg, "sign")

    def verifying_key_for(self, alg: SigningAlgorithm) -> Any:
        """The prepared key object to verify ``alg``, checked once and cached."""
        return self._prepare(alg, "verify")

    def _prepare(self, alg: SigningAlgorithm, op: Literal["sign", "verify"]) -> Any:
        cache_key = (alg.name, op)
        prepared = self._prepared.get(cache_key)
        if prepared is None:
            self.check_usable(
                alg=alg.name, op=op, kty=alg.kty, curves=alg.curves, min_key_bytes=alg.min_key_bytes
            )
            prepared = self._private if op == "sign" else self._public
            self._prepared[cache_key] = prepared
        return prepared

    def usable_for(self, alg: SigningAlgorithm, op: Literal["sign", "verify"]) -> bool:
        try:
            self._prepare(alg, op)
        except JoseError:
            return False
        return True


def _load_pem_or_ssh(raw: bytes, password: bytes | None) -> Any:
    if raw.startswith((b"ssh-", b"ecdsa-sha2-")):
        try:
            return serialization.load_ssh_public_key(raw)
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise InvalidKeyError(f"invalid OpenSSH public key: {exc}") from None
    if b"-----BEGIN CERTIFICATE-----" in raw:
        try:
            return load_pem_x509_certificate(raw).public_key()
        except ValueError as exc:
            raise InvalidKeyError(f"invalid certificate: {exc}") from None
    if b"-----BEGIN OPENSSH PRIVATE KEY-----" in raw:
        try:
            return serialization.load_ssh_private_key(raw, password)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise InvalidKeyError(f"cannot load OpenSSH private key: {exc}") from None
    if b"PRIVATE KEY-----" in raw:
        try:
            return serialization.load_pem_private_key(raw, password)
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise InvalidKeyError(f"cannot load PEM private key: {exc}") from None
    try:
        return serialization.load_pem_public_key(raw)
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise InvalidKeyError(f"cannot load PEM key: {exc}") from None


def _load_der(raw: bytes, password: bytes | None) -> Any:
    try:
        return serialization.load_der_private_key(raw, password)
    except TypeError as exc:  # password missing or given for an unencrypted key
        raise InvalidKeyError(f"cannot load DER private key: {exc}") from None
    except (ValueError, UnsupportedAlgorithm):
        pass
    try:
        return serialization.load_der_public_key(raw)
    except (ValueError, UnsupportedAlgorithm):
        pass
    try:
        return load_der_x509_certificate(raw).public_key()
    except ValueError:
        raise InvalidKeyError("not a DER private key, public key or certificate") from None


def _looks_like_asymmetric_key(secret: bytes) -> bool:
    stripped = secret.strip()
    if stripped.startswith((b"-----BEGIN", b"ssh-", b"ecdsa-sha2-", b"{")):
        return True
    if b"-----BEGIN" in secret:
        return True
    if stripped[:1] == b"\x30":  # an ASN.1 SEQUENCE: could be DER
        for loader in (
            serialization.load_der_public_key,
            load_der_x509_certificate,
            lambda d: serialization.load_der_private_key(d, None),
        ):
            try:
                loader(stripped)
            except (ValueError, TypeError, UnsupportedAlgorithm):
                continue
            return True
    return False


__all__ = ["JWK", "Operation"]

"""JSON Web Encryption (RFC 7516): compact and JSON serializations.

Decryption is always with keys the caller supplies, for the ``alg`` and ``enc``
values the caller allows (:class:`JWEPolicy`; by default the recommended set: no
PBES2, no RSA1_5). Every failure to unwrap a key or to authenticate the content is
one uniform :class:`~tokensmith.jose.errors.DecryptionError` (S21). The algorithms
themselves are data: :mod:`.keymgmt` (``alg``) and :mod:`.content` (``enc``).
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .content import ALL_CONTENT_ENCRYPTIONS, ContentEncryption, content_algorithm
from .encoding import (
    DEFAULT_LIMITS,
    Limits,
    b64url_decode,
    b64url_encode,
    dump_json,
    parse_json_object,
)
from .errors import (
    AlgorithmNotAllowedError,
    CritError,
    DecryptionError,
    JoseError,
    JWKError,
    KeyNotFoundError,
    LimitExceededError,
    MalformedError,
    UnsupportedError,
)
from .jwe_zip import DEFAULT_MAX_INFLATED, deflate, inflate
from .jwk import JWK
from .jwkset import JWKSet
from .jws import Keys, check_crit, parse_protected, split_compact
from .keymgmt import ALL_KEY_MANAGEMENT, KeyManagement, UnwrapOptions, key_management

#: The ``alg`` values allowed unless the caller says otherwise: no PBES2, no RSA1_5.
DEFAULT_ALGORITHMS: Final = frozenset(
    name for name in ALL_KEY_MANAGEMENT if name != "RSA1_5" and not key_management(name).pbes2
)
DEFAULT_ENCRYPTIONS: Final = frozenset(ALL_CONTENT_ENCRYPTIONS)
DEFAULT_ENC: Final = "A256GCM"
MAX_RECIPIENTS: Final = 16
MAX_P2C_LIMIT: Final = 10_000_000
# The default key management for a key without 'alg', by key type.
_DEFAULT_ALG_BY_KTY: Final = {"RSA": "RSA-OAEP-256", "EC": "ECDH-ES", "OKP": "ECDH-ES"}
_JSON_MEMBERS: Final = frozenset(
    {
        "protected",
        "unprotected",
        "header",
        "encrypted_key",
        "recipients",
        "aad",
        "iv",
        "ciphertext",
        "tag",
    }
)


@dataclass(frozen=True, slots=True)
class JWEPolicy:
    """What a decrypting caller accepts.

    ``algorithms`` / ``encryptions``: the allowed ``alg`` and ``enc`` values. RSA1_5 is
    used only when listed here (S20). A PBES2 ``alg`` may be listed only together with
    ``max_p2c``, the highest iteration count accepted (S8). ``max_inflated`` caps a
    ``zip: DEF`` plaintext (S9). ``understood_crit`` names the ``crit`` extensions the
    caller processes itself.
    """

    algorithms: Collection[str] = DEFAULT_ALGORITHMS
    encryptions: Collection[str] = DEFAULT_ENCRYPTIONS
    max_p2c: int = 0
    max_inflated: int = DEFAULT_MAX_INFLATED
    understood_crit: Collection[str] = frozenset()
    limits: Limits = DEFAULT_LIMITS

    def __post_init__(self) -> None:
        for name, known in (
            ("algorithms", ALL_KEY_MANAGEMENT),
            ("encryptions", ALL_CONTENT_ENCRYPTIONS),
        ):
            value = getattr(self, name)
            if isinstance(value, str) or not isinstance(value, Iterable):
                raise TypeError(f"JWEPolicy.{name} must be a collection of names, not a string")
            names = frozenset(value)
            unknown = sorted(n for n in names if n not in known)
            if unknown:
                raise ValueError(f"JWEPolicy.{name}: unknown names {unknown}")
            if not names:
                raise ValueError(f"JWEPolicy.{name} must not be empty")
            object.__setattr__(self, name, names)
        if type(self.max_p2c) is not int or not 0 <= self.max_p2c <= MAX_P2C_LIMIT:
            raise ValueError(f"JWEPolicy.max_p2c must be an int between 0 and {MAX_P2C_LIMIT}")
        if any(key_management(n).pbes2 for n in self.algorithms) and not self.max_p2c:
            raise ValueError("PBES2 is allowed only with a cap on 'p2c' (JWEPolicy.max_p2c)")
        if type(self.max_inflated) is not int or self.max_inflated <= 0:
            raise ValueError("JWEPolicy.max_inflated must be a positive int")
        if isinstance(self.understood_crit, str):
            raise TypeError("JWEPolicy.understood_crit must be a collection of names")
        object.__setattr__(self, "understood_crit", frozenset(self.understood_crit))


DEFAULT_JWE_POLICY: Final = JWEPolicy()


@dataclass(frozen=True, slots=True)
class DecryptedJWE:
    """A JWE that decrypted and authenticated. ``header`` joins the protected, shared
    and per-recipient headers; ``protected`` is the integrity-protected part alone."""

    header: Mapping[str, Any]
    plaintext: bytes
    key: JWK
    protected: Mapping[str, Any]
    aad: bytes | None = None


@dataclass(frozen=True, slots=True)
class Recipient:
    """One recipient of a JWE JSON serialization; ``header`` is its unprotected header."""

    key: JWK
    alg: str | None = None
    header: Mapping[str, Any] | None = None


# ---- resolving ---------------------------------------------------------------------------


def resolve_encrypt_alg(key: JWK, alg: str | None) -> KeyManagement:
    """The key management to encrypt to ``key``: the one named, else the key's ``alg``,
    else the default for its type (RSA-OAEP-256, or ECDH-ES for EC/OKP keys)."""
    if not isinstance(key, JWK):
        raise TypeError("encrypting needs a JWK (use JWK.import_key or JWK.from_secret)")
    name = alg or key.alg or _DEFAULT_ALG_BY_KTY.get(key.kty)
    if name is None:
        raise ValueError("name the algorithm: a symmetric key without 'alg' fits several")
    try:
        km = key_management(name)
    except JoseError as exc:
        raise ValueError(exc.message) from None
    if not km.encrypts:
        raise ValueError(f"{km.name} is never used to encrypt (RFC 7516 §11.5)")
    return km


def _resolve_enc(enc: str) -> ContentEncryption:
    try:
        return content_algorithm(enc)
    except JoseError as exc:
        raise ValueError(exc.message) from None


def _as_bytes(data: bytes | str) -> bytes:
    if isinstance(data, str):
        return data.encode("utf-8")
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    raise TypeError("the plaintext must be bytes or str")


def _check_own_crit(protected: Mapping[str, Any], unprotected: Mapping[str, Any] | None) -> None:
    """The encrypting side's ``crit``: well-formed (S11); the names are the caller's own."""
    crit = protected.get("crit", ())
    try:
        check_crit(protected, unprotected, crit if isinstance(crit, list) else ())
    except CritError as exc:
        raise ValueError(exc.message) from None


def _disjoint(*headers: Mapping[str, Any]) -> None:
    seen: set[str] = set()
    for header in headers:
        overlap = seen & set(header)
        if overlap:
            raise ValueError(f"header names in more than one header: {sorted(overlap)}")
        seen |= set(header)


# ---- encryption --------------------------------------------------------------------------


def encrypt(
    plaintext: bytes | str,
    key: JWK,
    *,
    alg: str | None = None,
    enc: str = DEFAULT_ENC,
    header: Mapping[str, Any] | None = None,
    compress: bool = False,
) -> str:
    """Compact JWE to ``key`` (a public key, or a secret). ``header`` adds protected
    header members (``cty``, ``typ``, ``apu``/``apv``, ``p2c``...); ``compress`` sets
    ``zip: DEF``."""
    km = resolve_encrypt_alg(key, alg)
    content = _resolve_enc(enc)
    km.check_key(key, decrypt=False, enc=content)
    protected: dict[str, Any] = {"alg": km.name, "enc": content.name}
    if key.kid is not None:
        protected["kid"] = key.kid
    for name, value in (header or {}).items():
        if name in ("alg", "enc", "zip") and protected.get(name, value) != value:
            raise ValueError(f"the header's {name!r} contradicts the arguments")
        if name == "zip":
            raise ValueError("use compress=True for 'zip'")
        protected[name] = value
    if compress:
        protected["zip"] = "DEF"
    _check_own_crit(protected, None)
    wrapped = km.wrap(key, content, None, protected)
    protected.update(wrapped.header)
    protected_b64 = b64url_encode(dump_json(protected))
    data = _as_bytes(plaintext)
    if compress:
        data = deflate(data)
    iv = secrets.token_bytes(content.iv_bytes)
    ciphertext, tag = content.encrypt(wrapped.cek, iv, data, protected_b64.encode("ascii"))
    return ".".join(
        (protected_b64, *(b64url_encode(p) for p in (wrapped.encrypted_key, iv, ciphertext, tag)))
    )


def encrypt_json(
    plaintext: bytes | str,
    recipients: Sequence[Recipient],
    *,
    enc: str = DEFAULT_ENC,
    protected: Mapping[str, Any] | None = None,
    unprotected: Mapping[str, Any] | None = None,
    aad: bytes | None = None,
    compress: bool = False,
    flattened: bool = False,
) -> dict[str, Any]:
    """JWE JSON serialization: general (``recipients``) or, for one recipient,
    flattened. Each recipient's ``alg`` and ``kid`` go in its own header."""
    if not recipients:
        raise ValueError("at least one recipient is needed")
    if flattened and len(recipients) != 1:
        raise ValueError("the flattened serialization has exactly one recipient")
    if len(recipients) > MAX_RECIPIENTS:
        raise ValueError(f"at most {MAX_RECIPIENTS} recipients")
    content = _resolve_enc(enc)
    prot: dict[str, Any] = {"enc": content.name, **(protected or {})}
    if prot["enc"] != content.name:
        raise ValueError("the protected header's 'enc' contradicts the arguments")
    if "zip" in prot:
        raise ValueError("use compress=True for 'zip'")
    if compress:
        prot["zip"] = "DEF"
    shared = dict(unprotected or {})
    if "enc" in shared or "zip" in shared:
        raise ValueError("'enc' and 'zip' belong in the protected header")
    kms = [resolve_encrypt_alg(r.key, r.alg) for r in recipients]
    if len(recipients) > 1 and any(km.direct for km in kms):
        raise ValueError("'dir' and 'ECDH-ES' serve a single recipient")
    cek: bytes | None = None if kms[0].direct else secrets.token_bytes(content.key_bytes)
    entries: list[dict[str, Any]] = []
    for recipient, km in zip(recipients, kms, strict=True):
        km.check_key(recipient.key, decrypt=False, enc=content)
        own: dict[str, Any] = {"alg": km.name}
        if recipient.key.kid is not None:
            own["kid"] = recipient.key.kid
        own.update(recipient.header or {})
        if own["alg"] != km.name or "enc" in own or "zip" in own:
            raise ValueError("a recipient header must not change 'alg', 'enc' or 'zip'")
        _disjoint(prot, shared, own)
        _check_own_crit(prot, {**shared, **own})
        wrapped = km.wrap(recipient.key, content, cek, {**shared, **own, **prot})
        cek = wrapped.cek
        own.update(wrapped.header)
        _disjoint(prot, shared, own)
        entry: dict[str, Any] = {"header": own}
        if wrapped.encrypted_key:
            entry["encrypted_key"] = b64url_encode(wrapped.encrypted_key)
        entries.append(entry)
    assert cek is not None
    protected_b64 = b64url_encode(dump_json(prot))
    aad_b64 = b64url_encode(aad) if aad is not None else None
    full_aad = protected_b64 + ("." + aad_b64 if aad_b64 is not None else "")
    data = _as_bytes(plaintext)
    if compress:
        data = deflate(data)
    iv = secrets.token_bytes(content.iv_bytes)
    ciphertext, tag = content.encrypt(cek, iv, data, full_aad.encode("ascii"))
    result: dict[str, Any] = {"protected": protected_b64}
    if shared:
        result["unprotected"] = shared
    if flattened:
        result.update(entries[0])
    else:
        result["recipients"] = entries
    if aad_b64 is not None:
        result["aad"] = aad_b64
    result.update(
        iv=b64url_encode(iv), ciphertext=b64url_encode(ciphertext), tag=b64url_encode(tag)
    )
    return result


# ---- decryption --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Sealed:
    """The parts of a JWE shared by every recipient."""

    protected_b64: str
    protected: dict[str, Any]
    shared: dict[str, Any]
    iv: bytes
    ciphertext: bytes
    tag: bytes
    aad_b64: str | None = None


def decrypt(
    token: str | bytes, keys: Keys, *, policy: JWEPolicy = DEFAULT_JWE_POLICY
) -> DecryptedJWE:
    """Decrypt a compact JWE with the caller's ``keys`` under ``policy``."""
    limits = policy.limits
    protected_b64, ek_b64, iv_b64, ct_b64, tag_b64 = split_compact(token, limits, parts=5)
    if not protected_b64:
        raise MalformedError("a compact JWE has a protected header", code="jwe_malformed")
    protected = parse_protected(protected_b64, limits)
    sealed = _Sealed(
        protected_b64,
        protected,
        {},
        b64url_decode(iv_b64, what="iv"),
        b64url_decode(ct_b64, what="ciphertext"),
        b64url_decode(tag_b64, what="tag"),
    )
    encrypted_key = b64url_decode(ek_b64, what="encrypted key")
    return _open(sealed, [({}, encrypted_key)], keys, policy, single=True)


def decrypt_json(
    data: str | bytes | Mapping[str, Any],
    keys: Keys,
    *,
    policy: JWEPolicy = DEFAULT_JWE_POLICY,
) -> DecryptedJWE:
    """Decrypt a JWE JSON serialization (general or flattened). The first recipient
    that one of the caller's keys can open wins."""
    limits = policy.limits
    if isinstance(data, (str, bytes)):
        obj = parse_json_object(
            data, max_size=limits.max_token, max_depth=limits.max_depth, what="JWE"
        )
    elif isinstance(data, Mapping):
        obj = dict(data)
    else:
        raise MalformedError("a JWE JSON serialization is an object", code="jwe_malformed")
    unknown = set(obj) - _JSON_MEMBERS
    if unknown:
        raise MalformedError(f"unknown JWE members {sorted(unknown)}", code="jwe_malformed")
    if "recipients" in obj:
        if "header" in obj or "encrypted_key" in obj:
            raise MalformedError(
                "a general JWE must not carry flattened members", code="jwe_malformed"
            )
        entries = obj["recipients"]
        if type(entries) is not list or not entries:
            raise MalformedError("'recipients' must be a non-empty array", code="jwe_malformed")
        if len(entries) > MAX_RECIPIENTS:
            raise LimitExceededError(f"more than {MAX_RECIPIENTS} recipients")
    else:
        entries = [{k: obj[k] for k in ("header", "encrypted_key") if k in obj}]
    recipients: list[tuple[dict[str, Any], bytes]] = []
    for entry in entries:
        if type(entry) is not dict or set(entry) - {"header", "encrypted_key"}:
            raise MalformedError(
                "a recipient is an object with 'header' and 'encrypted_key'", code="jwe_malformed"
            )
        recipients.append(
            (_object(entry, "header"), _b64_member(entry, "encrypted_key", required=False))
        )
    protected_b64 = obj.get("protected", "")
    if type(protected_b64) is not str:
        raise MalformedError("'protected' must be a string", code="jwe_malformed")
    aad_b64 = obj.get("aad")
    if aad_b64 is not None:
        _b64_member(obj, "aad", required=True)
    sealed = _Sealed(
        protected_b64,
        parse_protected(protected_b64, limits) if protected_b64 else {},
        _object(obj, "unprotected"),
        _b64_member(obj, "iv", required=True),
        _b64_member(obj, "ciphertext", required=True),
        _b64_member(obj, "tag", required=True),
        aad_b64,
    )
    result = _open(sealed, recipients, keys, policy, single=len(recipients) == 1)
    aad = b64url_decode(aad_b64) if aad_b64 is not None else None
    return DecryptedJWE(result.header, result.plaintext, result.key, result.protected, aad)


def _object(obj: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = obj.get(name, {})
    if type(value) is not dict:
        raise MalformedError(f"{name!r} must be an object", code="jwe_malformed")
    return value


def _b64_member(obj: Mapping[str, Any], name: str, *, required: bool) -> bytes:
    value = obj.get(name)
    if value is None and not required:
        return b""
    if type(value) is not str:
        raise MalformedError(f"{name!r} must be a base64url string", code="jwe_malformed")
    return b64url_decode(value, what=name)


def _check_headers(sealed: _Sealed, own: Mapping[str, Any], policy: JWEPolicy) -> dict[str, Any]:
    """Join and check the three headers of one recipient (S9, S10, S11)."""
    protected, shared = sealed.protected, sealed.shared
    for a, b in ((protected, shared), (protected, own), (shared, own)):
        overlap = set(a) & set(b)
        if overlap:
            raise MalformedError(
                f"header names in more than one header: {sorted(overlap)}", code="jwe_malformed"
            )
    unprotected = {**shared, **own}
    check_crit(protected, unprotected, policy.understood_crit)
    if "b64" in protected.get("crit", ()) or "b64" in protected or "b64" in unprotected:
        raise CritError("'b64' (RFC 7797) is a JWS extension, never in a JWE")
    if "zip" in unprotected:
        raise MalformedError("'zip' must be in the protected header", code="jwe_malformed")
    if "enc" in own:
        raise MalformedError("'enc' is shared by every recipient", code="jwe_malformed")
    header = {**unprotected, **protected}
    if "zip" in header and header["zip"] != "DEF":
        raise UnsupportedError(f"unsupported 'zip' {header['zip']!r}", code="jwe_unsupported_zip")
    return header


def _resolve(
    header: Mapping[str, Any], policy: JWEPolicy
) -> tuple[KeyManagement, ContentEncryption]:
    if "alg" not in header or "enc" not in header:
        raise MalformedError("a JWE header has 'alg' and 'enc'", code="jwe_malformed")
    km = key_management(header["alg"])
    if km.name not in policy.algorithms:
        raise AlgorithmNotAllowedError(f"key management {km.name!r} is not allowed here")
    content = content_algorithm(header["enc"])
    if content.name not in policy.encryptions:
        raise AlgorithmNotAllowedError(f"content encryption {content.name!r} is not allowed here")
    return km, content


def _candidates(
    keys: Keys, header: Mapping[str, Any], km: KeyManagement, content: ContentEncryption
) -> list[JWK]:
    pool: Iterable[JWK]
    if isinstance(keys, JWK):
        pool = (keys,)
    elif isinstance(keys, JWKSet):
        if "kid" in header:
            found = keys.get(header["kid"])
            if found is None:
                raise KeyNotFoundError("no key in the set has this JWE's kid")
            pool = (found,)
        else:
            pool = keys
    elif isinstance(keys, (list, tuple)):
        pool = keys
    else:
        raise TypeError("keys must be a JWK, a JWKSet or a sequence of JWK")
    usable: list[JWK] = []
    mismatch: JoseError | None = None
    for key in pool:
        if not isinstance(key, JWK):
            raise TypeError("keys must be JWK objects")
        try:
            km.check_key(key, decrypt=True, enc=content)
        except JoseError as exc:
            mismatch = exc
            continue
        usable.append(key)
    if not usable:
        if isinstance(keys, JWK) and mismatch is not None:
            raise mismatch
        raise KeyNotFoundError(f"no key can decrypt {km.name}")
    return usable


def _open(
    sealed: _Sealed,
    recipients: list[tuple[dict[str, Any], bytes]],
    keys: Keys,
    policy: JWEPolicy,
    *,
    single: bool,
) -> DecryptedJWE:
    aad = sealed.protected_b64 + ("." + sealed.aad_b64 if sealed.aad_b64 is not None else "")
    options = UnwrapOptions(max_p2c=policy.max_p2c)
    attempted = False
    last_error: JoseError | None = None
    for own, encrypted_key in recipients:
        header = _check_headers(sealed, own, policy)
        try:
            km, content = _resolve(header, policy)
            candidates = _candidates(keys, header, km, content)
        except (AlgorithmNotAllowedError, UnsupportedError, JWKError) as exc:
            if single:
                raise
            last_error = exc
            continue
        for key in candidates:
            attempted = True
            try:
                cek = km.unwrap(key, content, encrypted_key, header, options)
                plaintext = content.decrypt(
                    cek, sealed.iv, sealed.ciphertext, sealed.tag, aad.encode("ascii")
                )
            except DecryptionError:
                continue
            if "zip" in header:
                plaintext = inflate(plaintext, policy.max_inflated)
            return DecryptedJWE(header, plaintext, key, sealed.protected)
    if attempted or last_error is None:
        raise DecryptionError("the JWE could not be decrypted")
    raise last_error


__all__ = [
    "DEFAULT_ALGORITHMS",
    "DEFAULT_ENC",
    "DEFAULT_ENCRYPTIONS",
    "DEFAULT_JWE_POLICY",
    "DecryptedJWE",
    "JWEPolicy",
    "Recipient",
    "decrypt",
    "decrypt_json",
    "encrypt",
    "encrypt_json",
    "resolve_encrypt_alg",
]

"""JSON Web Signature (RFC 7515, RFC 7797): compact and JSON serializations.

Verification is always against keys the caller supplies: a header's ``jwk``,
``jku``, ``x5u`` or ``x5c`` never selects or fetches a key (S3, S4). ``kid`` is a
dictionary lookup in the caller's :class:`JWKSet` (S5).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .algorithms import SigningAlgorithm, algorithms_for_key, signing_algorithm
from .encoding import (
    DEFAULT_LIMITS,
    FrozenDict,
    Limits,
    b64url_decode,
    b64url_encode,
    dump_json,
    is_b64url,
    parse_json_object,
)
from .errors import (
    AlgorithmNotAllowedError,
    CritError,
    InvalidSignatureError,
    JoseError,
    KeyMismatchError,
    KeyNotFoundError,
    LimitExceededError,
    MalformedError,
)
from .jwk import JWK
from .jwkset import JWKSet

Keys = JWK | JWKSet | Sequence[JWK]

#: Header parameters registered by RFC 7515/7516/7518; they may never appear in ``crit``.
REGISTERED_HEADERS: Final = frozenset(
    {
        "alg", "jku", "jwk", "kid", "x5u", "x5c", "x5t", "x5t#S256", "typ", "cty", "crit",
        "enc", "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c",
    }
)  # fmt: skip
#: Extensions this module processes itself.
UNDERSTOOD_CRIT: Final = frozenset({"b64"})
MAX_JSON_SIGNATURES: Final = 16


@dataclass(frozen=True, slots=True)
class VerifiedJWS:
    """A JWS whose signature verified. ``header`` is the protected and unprotected
    header joined; ``protected`` the integrity-protected part alone."""

    header: Mapping[str, Any]
    payload: bytes
    key: JWK
    protected: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Signer:
    """One signature of a JWS JSON serialization."""

    key: JWK
    alg: str | None = None
    protected: Mapping[str, Any] | None = None
    header: Mapping[str, Any] | None = None


# ---- helpers shared by both serializations ----------------------------------------------


def resolve_signing_alg(key: JWK, alg: str | None) -> SigningAlgorithm:
    """The algorithm to sign with: the one named, else the key's ``alg``, else the one
    its curve implies. RSA and symmetric keys without ``alg`` must be told."""
    if not isinstance(key, JWK):
        raise TypeError("signing needs a JWK (use JWK.import_key or JWK.from_secret)")
    name = alg or key.alg
    if name is None:
        # A curve implies its algorithm (the table's first for it: EdDSA for Ed25519/Ed448);
        # an RSA or symmetric key fits several, so the caller must choose.
        implied = algorithms_for_key(key.kty, key.crv) if key.crv is not None else ()
        if not implied:
            raise ValueError(
                f"name the algorithm: a {key.kty} key without 'alg' does not imply one"
            )
        name = implied[0]
    try:
        return signing_algorithm(name)
    except JoseError as exc:
        raise ValueError(exc.message) from None


def check_crit(
    protected: Mapping[str, Any],
    unprotected: Mapping[str, Any] | None,
    understood: Collection[str],
) -> None:
    """RFC 7515 §4.1.11 (S11)."""
    if unprotected and "crit" in unprotected:
        raise CritError("'crit' must be in the protected header")
    if "crit" not in protected:
        return
    crit = protected["crit"]
    if type(crit) is not list or not crit:
        raise CritError("'crit' must be a non-empty array")
    seen: set[str] = set()
    for name in crit:
        if type(name) is not str:
            raise CritError("'crit' entries must be strings")
        if name in seen:
            raise CritError(f"'crit' lists {name!r} twice")
        seen.add(name)
        if name in REGISTERED_HEADERS:
            raise CritError(f"'crit' must not list the registered header {name!r}")
        if name not in protected:
            raise CritError(f"'crit' lists {name!r}, which is not in the protected header")
        if name not in understood and name not in UNDERSTOOD_CRIT:
            raise CritError(f"critical extension {name!r} is not understood")


def read_b64(protected: Mapping[str, Any], unprotected: Mapping[str, Any] | None) -> bool:
    """The RFC 7797 ``b64`` value: only honoured when protected and listed in ``crit``."""
    if unprotected and "b64" in unprotected:
        raise CritError("'b64' must be in the protected header")
    if "b64" not in protected:
        return True
    b64 = protected["b64"]
    if type(b64) is not bool:
        raise MalformedError("'b64' must be a boolean", code="jws_malformed")
    if "b64" not in protected.get("crit", ()):
        raise CritError("'b64' must be listed in 'crit'")
    return b64


def _check_algorithms(algorithms: Collection[str] | None) -> None:
    if algorithms is None:
        return
    if isinstance(algorithms, str):
        raise TypeError("algorithms must be a collection of names, not a string")
    for name in algorithms:
        if type(name) is not str:
            raise TypeError("algorithm names are strings")
        if name.lower() == "none":
            raise ValueError("'none' can never be an allowed algorithm")


def resolve_verify_alg(
    header: Mapping[str, Any], algorithms: Collection[str] | None
) -> SigningAlgorithm:
    name = header.get("alg")
    if name is None:
        raise MalformedError("the header has no 'alg'", code="jws_malformed")
    alg = signing_algorithm(name)
    if algorithms is not None and alg.name not in algorithms:
        raise AlgorithmNotAllowedError(f"algorithm {alg.name!r} is not allowed here")
    return alg


def verify_signature(
    keys: Keys,
    header: Mapping[str, Any],
    alg: SigningAlgorithm,
    signing_input: bytes,
    signature: bytes,
) -> JWK:
    """Find the caller's key for this header and check the signature; return the key."""
    if isinstance(keys, JWK):
        key_obj = keys.verifying_key_for(alg)  # raises KeyMismatchError when it may not
        if alg.verify(key_obj, signing_input, signature):
            return keys
        raise InvalidSignatureError("the signature does not verify")
    if isinstance(keys, JWKSet):
        if "kid" in header:
            found = keys.get(header["kid"])
            if found is None:
                raise KeyNotFoundError("no key in the set has this token's kid")
            candidates: Iterable[JWK] = (found,)
        else:
            candidates = keys
    elif isinstance(keys, (list, tuple)):
        candidates = keys
    else:
        raise TypeError("keys must be a JWK, a JWKSet or a sequence of JWK")
    usable = False
    mismatch: JoseError | None = None
    for key in candidates:
        if not isinstance(key, JWK):
            raise TypeError("keys must be JWK objects")
        try:
            key_obj = key.verifying_key_for(alg)
        except JoseError as exc:
            mismatch = exc
            continue
        usable = True
        if alg.verify(key_obj, signing_input, signature):
            return key
    if usable:
        raise InvalidSignatureError("the signature does not verify")
    if mismatch is not None and isinstance(keys, JWKSet) and "kid" in header:
        raise KeyMismatchError(mismatch.message)
    raise KeyNotFoundError(f"no key can verify {alg.name}")


def _encode_header(header: Mapping[str, Any]) -> str:
    return b64url_encode(dump_json(dict(header)))


def _as_bytes(payload: bytes | str) -> bytes:
    if isinstance(payload, str):
        return payload.encode("utf-8")
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    raise TypeError("payload must be bytes or str")


def build_protected_header(
    alg: SigningAlgorithm, key: JWK, extra: Mapping[str, Any] | None
) -> dict[str, Any]:
    header: dict[str, Any] = {"alg": alg.name}
    if key.kid is not None:
        header["kid"] = key.kid
    if extra:
        if "alg" in extra and extra["alg"] != alg.name:
            raise ValueError("the header's 'alg' must match the signing algorithm")
        header.update(extra)
    return header


# ---- compact serialization -------------------------------------------------------------


def sign(
    payload: bytes | str,
    key: JWK,
    *,
    alg: str | None = None,
    header: Mapping[str, Any] | None = None,
    detached: bool = False,
) -> str:
    """Compact JWS. ``header`` adds protected header members (``typ``, ``crit``,
    ``b64``...). With ``detached``, the payload segment is left empty (RFC 7515 F)."""
    algorithm = resolve_signing_alg(key, alg)
    key_obj = key.signing_key_for(algorithm)
    protected = build_protected_header(algorithm, key, header)
    check_crit(protected, None, ())
    b64 = read_b64(protected, None)
    data = _as_bytes(payload)
    protected_b64 = _encode_header(protected)
    if b64:
        payload_segment = b64url_encode(data)
        signing_input = f"{protected_b64}.{payload_segment}".encode("ascii")
    else:
        if not detached and b"." in data:
            raise ValueError("an unencoded (b64:false) compact payload must not contain '.'")
        payload_segment = data.decode("ascii") if not detached else ""
        signing_input = protected_b64.encode("ascii") + b"." + data
    signature = b64url_encode(algorithm.sign(key_obj, signing_input))
    return f"{protected_b64}.{'' if detached else payload_segment}.{signature}"


def split_compact(token: str | bytes, limits: Limits, parts: int = 3) -> list[str]:
    """Split a compact token into exactly ``parts`` segments (S10, S22)."""
    if isinstance(token, (bytes, bytearray)):
        if len(token) > limits.max_token:
            raise LimitExceededError(f"token is longer than {limits.max_token} characters")
        try:
            token = bytes(token).decode("ascii")
        except UnicodeDecodeError:
            raise MalformedError("a compact token is ASCII", code="jose_malformed") from None
    elif not isinstance(token, str):
        raise MalformedError("a token is a string", code="jose_malformed")
    if len(token) > limits.max_token:
        raise LimitExceededError(f"token is longer than {limits.max_token} characters")
    segments = token.split(".")
    if len(segments) != parts:
        raise MalformedError(
            f"a compact token has exactly {parts} segments, this one has {len(segments)}",
            code="jose_malformed",
        )
    return segments


def parse_protected(segment: str, limits: Limits) -> dict[str, Any]:
    # base64url inflates by 4/3: check the encoded size before decoding (S22).
    if len(segment) > (limits.max_header * 4 + 2) // 3:
        raise LimitExceededError(f"header is larger than {limits.max_header} bytes")
    raw = b64url_decode(segment, what="protected header")
    return parse_json_object(
        raw, max_size=limits.max_header, max_depth=limits.max_depth, what="header"
    )


#: Protected headers already parsed, by their exact segment string: the headers of one
#: issuer's tokens repeat (alg, kid, typ), so the verify hot path parses each once.
_HEADER_CACHE: dict[str, FrozenDict] = {}
_HEADER_CACHE_MAX: Final = 256
_HEADER_CACHE_SEGMENT_MAX: Final = 512
_SCALAR_TYPES: Final = frozenset({str, int, bool, float, type(None)})


def parse_protected_shared(segment: str, limits: Limits) -> Mapping[str, Any]:
    """:func:`parse_protected` for the verify hot path, with the same checks.

    A short header whose members are all scalars (the usual ``alg``/``kid``/``typ``)
    is returned as a read-only :class:`FrozenDict` and kept, keyed by the exact segment,
    in a small bounded table: a hit returns what parsing that same string returned.
    Headers with arrays or objects (``crit``, ``jwk``...) are parsed every time."""
    header = _HEADER_CACHE.get(segment)
    # len * 3 // 4 is the decoded size of unpadded base64url: the same S22 bound.
    if header is not None and len(segment) * 3 // 4 <= limits.max_header:
        return header
    parsed = parse_protected(segment, limits)
    if len(segment) > _HEADER_CACHE_SEGMENT_MAX or not all(
        type(v) in _SCALAR_TYPES for v in parsed.values()
    ):
        return parsed
    header = FrozenDict(parsed)
    if len(_HEADER_CACHE) >= _HEADER_CACHE_MAX:
        # KeyError / RuntimeError / StopIteration: raced with another thread; harmless.
        with contextlib.suppress(KeyError, RuntimeError, StopIteration):
            del _HEADER_CACHE[next(iter(_HEADER_CACHE))]
    _HEADER_CACHE[segment] = header
    return header


def verify(
    token: str | bytes,
    keys: Keys,
    *,
    algorithms: Collection[str] | None = None,
    detached_payload: bytes | str | None = None,
    understood_crit: Collection[str] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> VerifiedJWS:
    """Verify a compact JWS. ``algorithms`` is the allow-list (default: whatever the
    keys' type allows, never ``none``)."""
    _check_algorithms(algorithms)
    header_b64, payload_segment, signature_b64 = split_compact(token, limits)
    header = parse_protected_shared(header_b64, limits)
    alg = resolve_verify_alg(header, algorithms)
    check_crit(header, None, understood_crit)
    b64 = read_b64(header, None)
    if len(signature_b64) > 2048:
        raise LimitExceededError("signature is too long")
    signature = b64url_decode(signature_b64, what="signature")
    if detached_payload is not None:
        if payload_segment:
            raise MalformedError(
                "a detached JWS has an empty payload segment", code="jws_malformed"
            )
        payload = _as_bytes(detached_payload)
        payload_segment_bytes = b64url_encode(payload).encode("ascii") if b64 else payload
    elif b64:
        if len(payload_segment) > (limits.max_payload * 4 + 2) // 3:
            raise LimitExceededError(f"payload is larger than {limits.max_payload} bytes")
        payload = b64url_decode(payload_segment, what="payload")
        payload_segment_bytes = payload_segment.encode("ascii")
    else:
        if not payload_segment.isascii():
            raise MalformedError("an unencoded compact payload is ASCII", code="jws_malformed")
        payload_segment_bytes = payload = payload_segment.encode("ascii")
    signing_input = header_b64.encode("ascii") + b"." + payload_segment_bytes
    key = verify_signature(keys, header, alg, signing_input, signature)
    return VerifiedJWS(header=header, payload=payload, key=key, protected=header)


# ---- JSON serialization ----------------------------------------------------------------


def sign_json(
    payload: bytes | str,
    signers: Sequence[Signer],
    *,
    flattened: bool = False,
    detached: bool = False,
) -> dict[str, Any]:
    """JWS JSON serialization: general (``signatures``) or, for one signer, flattened."""
    if not signers:
        raise ValueError("at least one signer is needed")
    if flattened and len(signers) != 1:
        raise ValueError("the flattened serialization has exactly one signature")
    data = _as_bytes(payload)
    entries: list[dict[str, Any]] = []
    b64_values: set[bool] = set()
    for signer in signers:
        algorithm = resolve_signing_alg(signer.key, signer.alg)
        key_obj = signer.key.signing_key_for(algorithm)
        protected = build_protected_header(algorithm, signer.key, signer.protected)
        unprotected = dict(signer.header or {})
        overlap = set(protected) & set(unprotected)
        if overlap:
            raise ValueError(f"header names in both protected and unprotected: {sorted(overlap)}")
        check_crit(protected, unprotected, ())
        b64 = read_b64(protected, unprotected)
        b64_values.add(b64)
        protected_b64 = _encode_header(protected)
        payload_part = b64url_encode(data).encode("ascii") if b64 else data
        signing_input = protected_b64.encode("ascii") + b"." + payload_part
        entry: dict[str, Any] = {"protected": protected_b64}
        if unprotected:
            entry["header"] = unprotected
        entry["signature"] = b64url_encode(algorithm.sign(key_obj, signing_input))
        entries.append(entry)
    if len(b64_values) != 1:
        raise ValueError("every signature must use the same 'b64' value")
    result: dict[str, Any] = {}
    if not detached:
        result["payload"] = b64url_encode(data) if b64_values.pop() else data.decode("utf-8")
    if flattened:
        result.update(entries[0])
    else:
        result["signatures"] = entries
    return result


def verify_json(
    data: str | bytes | Mapping[str, Any],
    keys: Keys,
    *,
    algorithms: Collection[str] | None = None,
    detached_payload: bytes | str | None = None,
    understood_crit: Collection[str] = (),
    limits: Limits = DEFAULT_LIMITS,
) -> VerifiedJWS:
    """Verify a JWS JSON serialization (flattened or general). The first signature
    that verifies with the caller's keys is returned; if none does, the error of the
    last one tried is raised."""
    _check_algorithms(algorithms)
    if isinstance(data, (str, bytes)):
        if len(data) > limits.max_token:
            raise LimitExceededError(f"JWS is larger than {limits.max_token} bytes")
        obj = parse_json_object(
            data, max_size=limits.max_token, max_depth=limits.max_depth, what="JWS"
        )
    elif isinstance(data, Mapping):
        obj = dict(data)
    else:
        raise MalformedError("a JWS JSON serialization is an object", code="jose_malformed")
    if "signatures" in obj:
        if "signature" in obj or "protected" in obj or "header" in obj:
            raise MalformedError(
                "a general JWS must not also carry flattened members", code="jws_malformed"
            )
        entries = obj["signatures"]
        if type(entries) is not list or not entries:
            raise MalformedError("'signatures' must be a non-empty array", code="jws_malformed")
        if len(entries) > MAX_JSON_SIGNATURES:
            raise LimitExceededError(f"more than {MAX_JSON_SIGNATURES} signatures")
    elif "signature" in obj:
        entries = [{k: obj[k] for k in ("protected", "header", "signature") if k in obj}]
    else:
        raise MalformedError("a JWS JSON serialization needs signatures", code="jws_malformed")
    payload_value = obj.get("payload")
    if detached_payload is None and type(payload_value) is not str:
        raise MalformedError("'payload' must be a string", code="jws_malformed")
    if detached_payload is not None and payload_value is not None:
        raise MalformedError("a detached JWS has no 'payload'", code="jws_malformed")
    last_error: JoseError | None = None
    for entry in entries:
        try:
            return _verify_json_entry(
                entry, payload_value, keys, algorithms, detached_payload, understood_crit, limits
            )
        except (
            InvalidSignatureError,
            KeyNotFoundError,
            KeyMismatchError,
            AlgorithmNotAllowedError,
        ) as exc:
            last_error = exc
    assert last_error is not None
    raise last_error


def _verify_json_entry(
    entry: Any,
    payload_value: Any,
    keys: Keys,
    algorithms: Collection[str] | None,
    detached_payload: bytes | str | None,
    understood_crit: Collection[str],
    limits: Limits,
) -> VerifiedJWS:
    if type(entry) is not dict:
        raise MalformedError("a signature entry is an object", code="jws_malformed")
    protected_b64 = entry.get("protected", "")
    if type(protected_b64) is not str:
        raise MalformedError("'protected' must be a string", code="jws_malformed")
    protected = parse_protected(protected_b64, limits) if protected_b64 else {}
    unprotected = entry.get("header", {})
    if type(unprotected) is not dict:
        raise MalformedError("'header' must be an object", code="jws_malformed")
    overlap = set(protected) & set(unprotected)
    if overlap:
        raise MalformedError(
            f"header names in both protected and unprotected header: {sorted(overlap)}",
            code="jws_malformed",
        )
    header = {**unprotected, **protected}
    alg = resolve_verify_alg(header, algorithms)
    check_crit(protected, unprotected, understood_crit)
    b64 = read_b64(protected, unprotected)
    signature_b64 = entry.get("signature")
    if type(signature_b64) is not str or len(signature_b64) > 2048:
        raise MalformedError("'signature' must be a base64url string", code="jws_malformed")
    signature = b64url_decode(signature_b64, what="signature")
    if detached_payload is not None:
        payload = _as_bytes(detached_payload)
        payload_part = b64url_encode(payload).encode("ascii") if b64 else payload
    elif b64:
        if not is_b64url(payload_value):
            raise MalformedError("'payload' is not base64url", code="jose_bad_base64")
        payload = b64url_decode(payload_value, what="payload")
        payload_part = payload_value.encode("ascii")
    else:
        try:
            payload = payload_part = payload_value.encode("utf-8")
        except UnicodeEncodeError:
            raise MalformedError("'payload' is not valid UTF-8", code="jws_malformed") from None
    signing_input = protected_b64.encode("ascii") + b"." + payload_part
    key = verify_signature(keys, header, alg, signing_input, signature)
    return VerifiedJWS(header=header, payload=payload, key=key, protected=protected)


__all__ = [
    "REGISTERED_HEADERS",
    "Signer",
    "VerifiedJWS",
    "sign",
    "sign_json",
    "verify",
    "verify_json",
]

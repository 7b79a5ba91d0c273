"""JSON Web Tokens (RFC 7519) over compact JWS.

``decode`` always verifies the signature and the claims; ``peek`` reads a token
without verifying anything, and its name says so.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from .claims import ClaimsPolicy
from .encoding import (
    DEFAULT_LIMITS,
    Limits,
    b64url_decode,
    b64url_encode,
    dump_json,
    parse_json_object,
)
from .errors import LimitExceededError, MalformedError
from .jwk import JWK
from .jws import (
    Keys,
    build_protected_header,
    check_crit,
    parse_protected,
    resolve_signing_alg,
    resolve_verify_alg,
    split_compact,
    verify_signature,
)

DEFAULT_POLICY = ClaimsPolicy()


@dataclass(frozen=True, slots=True)
class VerifiedJWT:
    """A token whose signature and claims were verified."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]
    key: JWK


@dataclass(frozen=True, slots=True)
class UnverifiedJWT:
    """What :func:`peek` read. Nothing here was verified: do not trust it."""

    header: Mapping[str, Any]
    claims: Mapping[str, Any]


def _claims_for_encoding(claims: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(claims, Mapping):
        raise TypeError("claims must be a mapping")
    out = dict(claims)
    for name in ("exp", "nbf", "iat"):
        value = out.get(name)
        if isinstance(value, _dt.datetime):
            if value.tzinfo is None:
                raise ValueError(f"{name} must be an aware datetime (with a timezone)")
            out[name] = int(value.timestamp())
        elif value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise TypeError(f"{name} must be a number of seconds or an aware datetime")
    return out


def encode(
    claims: Mapping[str, Any],
    key: JWK,
    *,
    alg: str | None = None,
    typ: str | None = "JWT",
    header: Mapping[str, Any] | None = None,
) -> str:
    """Sign ``claims`` as a compact JWT. ``alg`` defaults to the key's."""
    algorithm = resolve_signing_alg(key, alg)
    key_obj = key.signing_key_for(algorithm)
    extra = dict(header or {})
    if "b64" in extra:
        raise ValueError("'b64' (RFC 7797) is never used in a JWT")
    if typ is not None:
        extra.setdefault("typ", typ)
    protected = build_protected_header(algorithm, key, extra)
    check_crit(protected, None, ())
    signing_input = (
        b64url_encode(dump_json(protected))
        + "."
        + b64url_encode(dump_json(_claims_for_encoding(claims)))
    )
    signature = algorithm.sign(key_obj, signing_input.encode("ascii"))
    return signing_input + "." + b64url_encode(signature)


def decode(
    token: str | bytes,
    keys: Keys,
    *,
    policy: ClaimsPolicy = DEFAULT_POLICY,
    understood_crit: Collection[str] = (),
) -> VerifiedJWT:
    """Verify a compact JWT's signature with ``keys`` and its claims with ``policy``.

    Raises only :class:`~tokensmith.jose.errors.JoseError` subclasses for bad tokens.
    """
    limits = policy.limits
    header_b64, payload_b64, signature_b64 = split_compact(token, limits)
    header = parse_protected(header_b64, limits)
    alg = resolve_verify_alg(header, policy.algorithms)
    if "b64" in header:
        raise MalformedError("'b64' (RFC 7797) is not allowed in a JWT", code="jwt_malformed")
    check_crit(header, None, understood_crit)
    policy.check_typ(header)
    if len(signature_b64) > 2048:
        raise LimitExceededError("signature is too long")
    signature = b64url_decode(signature_b64, what="signature")
    if len(payload_b64) > (limits.max_payload * 4 + 2) // 3:
        raise LimitExceededError(f"claims are larger than {limits.max_payload} bytes")
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    key = verify_signature(keys, header, alg, signing_input, signature)
    claims = _parse_claims(payload_b64, limits)
    policy.validate(claims)
    return VerifiedJWT(header=header, claims=claims, key=key)


def _parse_claims(payload_b64: str, limits: Limits) -> dict[str, Any]:
    raw = b64url_decode(payload_b64, what="claims")
    return parse_json_object(
        raw, max_size=limits.max_payload, max_depth=limits.max_depth, what="claims"
    )


def peek(token: str | bytes, *, limits: Limits = DEFAULT_LIMITS) -> UnverifiedJWT:
    """Read a JWT's header and claims WITHOUT verifying the signature or the claims.

    For display and routing only (e.g. to pick an issuer); never for a decision.
    """
    header_b64, payload_b64, _ = split_compact(token, limits)
    header = parse_protected(header_b64, limits)
    return UnverifiedJWT(header=header, claims=_parse_claims(payload_b64, limits))


__all__ = ["DEFAULT_POLICY", "UnverifiedJWT", "VerifiedJWT", "decode", "encode", "peek"]

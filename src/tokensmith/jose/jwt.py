"""JSON Web Tokens (RFC 7519) over compact JWS.

``decode`` always verifies the signature and the claims; ``peek`` reads a token
without verifying anything, and its name says so.
"""

from __future__ import annotations

import binascii
import datetime as _dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from . import jwe as _jwe
from .claims import ClaimsPolicy
from .encoding import (
    _B_PAD,
    _B_TO_STD,
    _LAST_REFUSED,
    DEFAULT_LIMITS,
    FrozenDict,
    Limits,
    _a2b,
    b64url_decode,
    b64url_encode,
    dump_json,
    parse_json_object,
)
from .encoding import _parse as _parse_json  # positional: the hot path's one call
from .errors import InvalidSignatureError, LimitExceededError, MalformedError
from .jwk import JWK
from .jws import (
    Keys,
    build_protected_header,
    check_crit,
    parse_protected,
    parse_protected_shared,
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


# The verify hot path builds its result with three slot stores instead of the frozen
# dataclass __init__ (about half a microsecond per token).
_new_object = object.__new__
_SET_HEADER = VerifiedJWT.__dict__["header"].__set__
_SET_CLAIMS = VerifiedJWT.__dict__["claims"].__set__
_SET_KEY = VerifiedJWT.__dict__["key"].__set__


def _verified_jwt(header: Mapping[str, Any], claims: Mapping[str, Any], key: JWK) -> VerifiedJWT:
    result: VerifiedJWT = _new_object(VerifiedJWT)
    _SET_HEADER(result, header)
    _SET_CLAIMS(result, claims)
    _SET_KEY(result, key)
    return result


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
    encrypt_to: JWK | None = None,
    enc: str = _jwe.DEFAULT_ENC,
) -> str:
    """Sign ``claims`` as a compact JWT. ``alg`` defaults to the key's.

    With ``encrypt_to`` (a recipient's public key, or a shared secret), the signed JWT
    is then encrypted to it as a nested JWT (RFC 7519 §5.2: JWE with ``cty: JWT``,
    the recipient key's ``alg`` or its type's default, and ``enc``).
    """
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
    token = signing_input + "." + b64url_encode(signature)
    if encrypt_to is None:
        return token
    return _jwe.encrypt(token, encrypt_to, enc=enc, header={"cty": "JWT"})


def decode(
    token: str | bytes,
    keys: Keys,
    *,
    policy: ClaimsPolicy = DEFAULT_POLICY,
    understood_crit: Collection[str] = (),
    decrypt_with: Keys | None = None,
    decrypt_policy: _jwe.JWEPolicy | None = None,
) -> VerifiedJWT:
    """Verify a compact JWT's signature with ``keys`` and its claims with ``policy``.

    With ``decrypt_with``, the token must be a nested JWT (a 5-segment JWE with
    ``cty: JWT`` around a signed JWT): it is decrypted with those keys under
    ``decrypt_policy``, then the inner JWT is verified as above. Without it, an
    encrypted token is never accepted (S23).

    Raises only :class:`~tokensmith.jose.errors.JoseError` subclasses for bad tokens.
    """
    if decrypt_with is not None:
        return _decode_nested(token, keys, policy, understood_crit, decrypt_with, decrypt_policy)
    if type(token) is str and not understood_crit:
        # (two partitions find the dots with memchr: cheaper than split's scan)
        header_b64, _, rest = token.partition(".")
        payload_b64, dot, signature_b64 = rest.partition(".")
        if dot and "." not in signature_b64:
            plan = policy.header_plans.get(header_b64)
            if plan is not None and len(token) <= policy.limits.max_token:
                return _decode_planned((header_b64, payload_b64, signature_b64), keys, policy, plan)
    return _decode_checked(token, keys, policy, understood_crit)


def _decode_checked(
    token: str | bytes, keys: Keys, policy: ClaimsPolicy, understood_crit: Collection[str]
) -> VerifiedJWT:
    """The full path: every header check, then :func:`_decode_planned`'s steps. A header
    that passes and can be shared is remembered in the policy's ``header_plans``."""
    limits = policy.limits
    header_b64, payload_b64, signature_b64 = split_compact(token, limits)
    header = parse_protected_shared(header_b64, limits)
    alg = resolve_verify_alg(header, policy.algorithms)
    if "b64" in header:
        raise MalformedError("'b64' (RFC 7797) is not allowed in a JWT", code="jwt_malformed")
    check_crit(header, None, understood_crit)
    policy.check_typ(header)
    # the header, its algorithm, and the longest claims segment the limits allow
    plan = (header, alg, (limits.max_payload * 4 + 2) // 3)
    if not understood_crit and type(header) is FrozenDict:
        plans = policy.header_plans
        if len(plans) >= _MAX_HEADER_PLANS:
            plans.clear()
        plans[header_b64] = plan
    return _decode_planned((header_b64, payload_b64, signature_b64), keys, policy, plan)


_MAX_HEADER_PLANS: Final = 64


class _NotFast(Exception):
    """A segment the inlined base64url fast path leaves to :func:`b64url_decode`."""


def _decode_planned(
    parts: Sequence[str],
    keys: Keys,
    policy: ClaimsPolicy,
    plan: tuple[Mapping[str, Any], Any, int],
) -> VerifiedJWT:
    """Signature, then claims, for a header already checked against ``policy``."""
    header, alg, max_payload_b64 = plan
    header_b64, payload_b64, signature_b64 = parts
    limits = policy.limits
    if len(signature_b64) > 2048:
        raise LimitExceededError("signature is too long")
    # b64url_decode's fast path, inlined for the signature and the claims of every token
    # (two calls fewer: about 2% of an HS256 verify). Whatever it does not take (a
    # non-ASCII or non-canonical segment, claims over the limit) goes the checked way:
    # b64url_decode and the limit, in the same order, which decode it or say what is wrong.
    try:
        raw = signature_b64.encode("ascii")
        rem = len(raw) & 3
        if rem == 1 or (rem and _LAST_REFUSED[rem][raw[-1]]):
            raise _NotFast
        signature = _a2b(raw.translate(_B_TO_STD) + _B_PAD[rem], strict_mode=True)
        if len(payload_b64) > max_payload_b64:
            raise _NotFast
        raw = payload_b64.encode("ascii")
        rem = len(raw) & 3
        if rem == 1 or (rem and _LAST_REFUSED[rem][raw[-1]]):
            raise _NotFast
        claims_json = _a2b(raw.translate(_B_TO_STD) + _B_PAD[rem], strict_mode=True)
    except (_NotFast, UnicodeEncodeError, binascii.Error):
        signature = b64url_decode(signature_b64, what="signature")
        if len(payload_b64) > max_payload_b64:
            raise LimitExceededError(f"claims are larger than {limits.max_payload} bytes") from None
        claims_json = b64url_decode(payload_b64, what="claims")
    signing_input = f"{header_b64}.{payload_b64}".encode("ascii")
    if type(keys) is JWK:
        if not alg.verify(keys.verifying_key_for(alg), signing_input, signature):
            raise InvalidSignatureError("the signature does not verify")
        key = keys
    else:
        key = verify_signature(keys, header, alg, signing_input, signature)
    claims = _parse_json(claims_json, limits.max_payload, limits.max_depth, "claims")
    if type(claims) is not dict:
        raise MalformedError("claims is not a JSON object", code="jose_bad_json")
    policy._validate(claims)
    return _verified_jwt(header, claims, key)


def _decode_nested(
    token: str | bytes,
    keys: Keys,
    policy: ClaimsPolicy,
    understood_crit: Collection[str],
    decrypt_with: Keys,
    decrypt_policy: _jwe.JWEPolicy | None,
) -> VerifiedJWT:
    """Sign-then-encrypt (RFC 7519 §5.2, §11.2). Only a signed JWT inside (S23)."""
    limits = policy.limits
    if isinstance(token, str) and len(token) <= limits.max_token and token.count(".") == 2:
        raise MalformedError(
            "this JWT is signed but not encrypted; decrypt_with needs a nested JWT",
            code="jwt_not_encrypted",
        )
    jwe_policy = decrypt_policy if decrypt_policy is not None else _jwe.JWEPolicy(limits=limits)
    outer = _jwe.decrypt(token, decrypt_with, policy=jwe_policy)
    cty = outer.header.get("cty")
    if type(cty) is not str or cty.upper() != "JWT":
        raise MalformedError("a nested JWT's JWE has 'cty: JWT'", code="jwt_not_signed")
    inner = outer.plaintext
    if inner.count(b".") != 2:
        # An encrypted-only token (claims, or another JWE, inside) is never a signed JWT.
        raise MalformedError("a nested JWT holds a signed JWT", code="jwt_not_signed")
    return decode(inner, keys, policy=policy, understood_crit=understood_crit)


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

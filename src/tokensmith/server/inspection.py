"""The token inspector's analysis (issue 10): what a pasted JWT or JWE says, whether its
signature verifies, and what RFC 8725 (JWT best current practice) would warn about.

Strict decoding through :mod:`tokensmith.jose` only (``peek`` for reading, ``jws.verify``
and ``jwe.decrypt`` for checking), under small size limits. Pure: no I/O, no logging,
the time comes in as ``now``; nothing pasted is kept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from tokensmith.jose import JWK, JoseError, JWKSet, Limits, jwe, jws, jwt
from tokensmith.jose.algorithms import algorithms_for_key

#: the inspector's own limits: a pasted token is small
LIMITS = Limits(max_token=32 * 1024, max_header=4 * 1024, max_payload=24 * 1024, max_depth=16)
MAX_KEY_TEXT = 16 * 1024
#: RFC 8725 §3.10 is about short lives for bearer tokens; more than this is flagged
LONG_LIFETIME = 3600
LARGE_PAYLOAD = 1024
_HMAC_ALGS = frozenset(algorithms_for_key("oct", None))
#: claim names that suggest a secret or personal data: whole words, or parts of a name
_SENSITIVE_WORDS = frozenset(
    {"pwd", "pin", "ssn", "cvv", "cvc", "iban", "card", "dob", "secret", "password", "passwd"}
)
_SENSITIVE_PARTS = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "creditcard",
    "cardnumber",
    "privatekey",
    "apikey",
    "socialsecurity",
    "dateofbirth",
    "taxid",
)
_TIME_CLAIMS = ("iat", "nbf", "exp", "auth_time")


class InspectionError(ValueError):
    """The input cannot be inspected at all; ``code`` is stable, ``message`` says why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Finding:
    code: str
    severity: str  # "danger", "warning" or "info"
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "severity": self.severity, "message": self.message}


def load_key(text: str) -> JWK | JWKSet:
    """A pasted key: a JWK, a JWK Set (JSON) or a PEM key. ``InspectionError`` otherwise."""
    text = text.strip()
    if len(text) > MAX_KEY_TEXT:
        raise InspectionError("key_invalid", f"the key is longer than {MAX_KEY_TEXT} characters")
    try:
        if text.startswith("{") and '"keys"' in text:
            return JWKSet.from_json(text)
        if not text.startswith(("{", "-----BEGIN")):
            raise InspectionError("key_invalid", "paste a JWK, a JWK Set or a PEM key")
        return JWK.import_key(text)
    except JoseError as exc:
        raise InspectionError("key_invalid", f"the key was not accepted: {exc.message}") from None
    except (ValueError, TypeError):
        raise InspectionError("key_invalid", "the key was not accepted") from None


def _looks_sensitive(name: str) -> bool:
    words = [w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])", name)]
    joined = "".join(words)
    return any(w in _SENSITIVE_WORDS for w in words) or any(
        part in joined for part in _SENSITIVE_PARTS
    )


def _sensitive_names(value: Any, path: str = "") -> Iterator[str]:
    if isinstance(value, Mapping):
        for name, inner in value.items():
            here = f"{path}.{name}" if path else str(name)
            if _looks_sensitive(str(name)):
                yield here
            yield from _sensitive_names(inner, here)
    elif isinstance(value, list):
        for inner in value:
            yield from _sensitive_names(inner, path)


def _duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds < 120:
        return f"{int(seconds)} s"
    if seconds < 7200:
        return f"{int(seconds // 60)} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def header_warnings(header: Mapping[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    alg = header.get("alg")
    if isinstance(alg, str) and alg.lower() == "none":
        out.append(
            Finding(
                "alg_none",
                "danger",
                "alg is 'none': the token is not signed and anyone can forge it; "
                "never accept it (RFC 8725 §2.1, §3.1).",
            )
        )
    elif alg in _HMAC_ALGS:
        out.append(
            Finding(
                "hmac_alg",
                "warning",
                f"{alg} uses a shared secret: whoever can verify can also mint tokens. "
                "Never give the secret to a public client (browser, mobile app); prefer an "
                "asymmetric algorithm for tokens others verify (RFC 8725 §3.5).",
            )
        )
    for name in ("jku", "x5u", "jwk", "x5c"):
        if name in header:
            out.append(
                Finding(
                    "header_key_reference",
                    "warning",
                    f"the header carries '{name}': a verifier must pick keys it already "
                    "trusts, never a key or URL named by the token itself (RFC 8725 §3.10).",
                )
            )
    if "typ" not in header:
        out.append(
            Finding(
                "no_typ",
                "info",
                "no 'typ' header: explicit typing (e.g. at+jwt) keeps one kind of token "
                "from being accepted as another (RFC 8725 §3.11).",
            )
        )
    return out


def claims_warnings(claims: Mapping[str, Any], payload_size: int, now: float) -> list[Finding]:
    out: list[Finding] = []
    exp, iat, nbf = (_number(claims.get(n)) for n in ("exp", "iat", "nbf"))
    if "exp" not in claims:
        out.append(
            Finding(
                "no_exp",
                "danger",
                "no 'exp': the token never expires; a leaked copy works forever.",
            )
        )
    elif exp is None:
        out.append(Finding("bad_exp", "danger", "'exp' is not a number of seconds."))
    else:
        start = iat if iat is not None else now
        if exp - start > LONG_LIFETIME:
            out.append(
                Finding(
                    "long_lifetime",
                    "warning",
                    f"the token lives {_duration(exp - start)}: access tokens should live "
                    "minutes (one hour at most) and be renewed with a refresh token.",
                )
            )
        if exp <= now:
            out.append(Finding("expired", "info", f"expired {_duration(now - exp)} ago."))
    if nbf is not None and nbf > now:
        out.append(
            Finding("not_yet_valid", "info", f"not valid before {_duration(nbf - now)} from now.")
        )
    if iat is not None and iat > now + 60:
        out.append(Finding("iat_in_future", "warning", "'iat' is in the future."))
    if "aud" not in claims:
        out.append(
            Finding(
                "no_aud",
                "warning",
                "no 'aud': any service that trusts this issuer would accept the token; name "
                "the intended audience and have each service check it (RFC 8725 §3.9).",
            )
        )
    if "iss" not in claims:
        out.append(
            Finding("no_iss", "info", "no 'iss': verifiers cannot check who issued it (§3.8).")
        )
    if payload_size > LARGE_PAYLOAD:
        out.append(
            Finding(
                "large_payload",
                "warning",
                f"the claims are {payload_size} bytes (over {LARGE_PAYLOAD}): tokens travel on "
                "every request; keep them small and look details up instead.",
            )
        )
    names = sorted(set(_sensitive_names(claims)))
    if names:
        out.append(
            Finding(
                "sensitive_claims",
                "danger",
                f"claims that look sensitive: {', '.join(names[:10])}. A signed token is only "
                "encoded, not encrypted: anyone holding it can read them (RFC 8725 §3.6).",
            )
        )
    return out


def _times(claims: Mapping[str, Any]) -> dict[str, float]:
    return {n: v for n in _TIME_CLAIMS if (v := _number(claims.get(n))) is not None}


def _signature(token: str, keys: JWK | JWKSet, source: str) -> dict[str, Any]:
    try:
        verified = jws.verify(token, keys, limits=LIMITS)
    except JoseError as exc:
        status = "invalid" if exc.code == "jws_invalid_signature" else "unchecked"
        return {"status": status, "source": source, "code": exc.code, "message": exc.message}
    return {
        "status": "valid",
        "source": source,
        "kid": verified.key.kid,
        "message": "the signature verifies",
    }


def _decode_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def inspect_jws(
    token: str, *, server_keys: JWKSet, pasted: JWK | JWKSet | None, now: float
) -> dict[str, Any]:
    try:
        read = jwt.peek(token, limits=LIMITS)
    except JoseError as exc:
        raise InspectionError("token_malformed", f"{exc.code}: {exc.message}") from None
    header, claims = dict(read.header), dict(read.claims)
    payload_size = len(token.split(".")[1]) * 3 // 4
    warnings = header_warnings(header) + claims_warnings(claims, payload_size, now)
    if isinstance(header.get("alg"), str) and header["alg"].lower() == "none":
        signature: dict[str, Any] = {
            "status": "unsigned",
            "source": None,
            "message": "alg 'none': there is no signature to check",
        }
    elif pasted is not None:
        signature = _signature(token, pasted, "pasted key")
    else:
        signature = _signature(token, server_keys, "this server's JWKS")
    return {
        "format": "jws",
        "header": header,
        "claims": claims,
        "times": _times(claims),
        "payload_bytes": payload_size,
        "signature": signature,
        "warnings": [w.to_dict() for w in warnings],
    }


def inspect_jwe(
    token: str, *, server_keys: JWKSet, pasted: JWK | JWKSet | None, now: float
) -> dict[str, Any]:
    try:
        protected_b64 = jws.split_compact(token, LIMITS, parts=5)[0]
        header = jws.parse_protected(protected_b64, LIMITS)
    except JoseError as exc:
        raise InspectionError("token_malformed", f"{exc.code}: {exc.message}") from None
    warnings: list[Finding] = []
    if header.get("alg") == "RSA1_5":
        warnings.append(
            Finding(
                "rsa1_5",
                "danger",
                "RSA1_5 key encryption is open to padding-oracle attacks (RFC 8725 §3.2).",
            )
        )
    if "zip" in header:
        warnings.append(
            Finding(
                "compressed",
                "warning",
                "compressed before encryption: the length can leak the content (§3.6).",
            )
        )
    result: dict[str, Any] = {
        "format": "jwe",
        "header": header,
        "warnings": [w.to_dict() for w in warnings],
    }
    if pasted is None:
        result["decryption"] = {
            "status": "not_attempted",
            "message": "paste the private key to decrypt; only the header is readable",
        }
        return result
    try:
        opened = jwe.decrypt(token, pasted, policy=jwe.JWEPolicy(limits=LIMITS))
    except JoseError as exc:
        result["decryption"] = {"status": "failed", "code": exc.code, "message": exc.message}
        return result
    result["decryption"] = {"status": "decrypted", "message": "decrypted with the pasted key"}
    inner = opened.plaintext
    if inner.count(b".") == 2 and inner.isascii():
        result["nested"] = inspect_jws(
            inner.decode(), server_keys=server_keys, pasted=None, now=now
        )
    else:
        claims = _decode_json(inner)
        if isinstance(claims, dict):
            result["claims"] = claims
            result["times"] = _times(claims)
            extra = claims_warnings(claims, len(inner), now)
            result["warnings"] += [w.to_dict() for w in extra]
        else:
            result["plaintext_bytes"] = len(inner)
    return result


def inspect(token: str, *, server_keys: JWKSet, key_text: str | None, now: float) -> dict[str, Any]:
    """The analysis of a compact JWS/JWT (3 segments) or JWE (5 segments). ``key_text``:
    a pasted key to verify or decrypt with (else the signature is checked against
    ``server_keys``). Raises ``InspectionError`` for input that is not a token at all."""
    token = token.strip()
    if not token:
        raise InspectionError("token_malformed", "paste a token")
    if len(token) > LIMITS.max_token:
        raise InspectionError(
            "token_malformed", f"the token is longer than {LIMITS.max_token} characters"
        )
    pasted = load_key(key_text) if key_text and key_text.strip() else None
    segments = token.count(".") + 1
    if segments == 3:
        result = inspect_jws(token, server_keys=server_keys, pasted=pasted, now=now)
    elif segments == 5:
        result = inspect_jwe(token, server_keys=server_keys, pasted=pasted, now=now)
    else:
        raise InspectionError(
            "token_malformed",
            f"a JWT has 3 dot-separated parts (a JWE 5); this has {segments}",
        )
    result["now"] = now
    return result

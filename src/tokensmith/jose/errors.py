"""The error tree of tokensmith.jose.

Every rejection of untrusted input (a token, a header, a key set fetched from
somewhere) raises a :class:`JoseError` subclass carrying a stable ``code``.
Caller mistakes (a negative leeway, a wrong argument type) are ``ValueError`` /
``TypeError`` raised when the object is built, not ``JoseError``.

The codes are part of the public surface: they are listed in docs/security.md
and never renamed.
"""

from __future__ import annotations


class JoseError(Exception):
    """Base of every error raised for untrusted JOSE input."""

    code: str = "jose_error"

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class MalformedError(JoseError):
    """The input is not well-formed: bad base64url, bad JSON, wrong structure."""

    code = "jose_malformed"


class LimitExceededError(MalformedError):
    """The input is larger or deeper than the configured limits allow (S22)."""

    code = "jose_limit_exceeded"


class UnsupportedError(JoseError):
    """An algorithm, curve, key type or header feature we do not support."""

    code = "jose_unsupported"


class AlgorithmNotAllowedError(JoseError):
    """The token's algorithm is not in the caller's allow-list (or is ``none``)."""

    code = "jose_alg_not_allowed"


class CritError(JoseError):
    """The ``crit`` header is malformed or names an extension we do not process (S11)."""

    code = "jws_crit_unsupported"


class JWKError(JoseError):
    """Base for key and key-set problems."""

    code = "jwk_invalid"


class InvalidKeyError(JWKError):
    """A key that cannot be imported or is malformed."""

    code = "jwk_invalid"


class WeakKeyError(JWKError):
    """A key that is too weak to use (S17, S18)."""

    code = "jwk_weak"


class KeyMismatchError(JWKError):
    """The key's type, ``alg``, ``use`` or ``key_ops`` do not allow this operation (S2, S19)."""

    code = "jwk_not_usable"


class KeyNotFoundError(JWKError):
    """No key in the set matches the token's ``kid`` / algorithm."""

    code = "jwks_key_not_found"


class InvalidKeySetError(JWKError):
    """A key set that must be refused as a whole (duplicate kids, private keys in a public set)."""

    code = "jwks_invalid"


class InvalidSignatureError(JoseError):
    """The signature does not verify."""

    code = "jws_invalid_signature"


class DecryptionError(JoseError):
    """A JWE could not be decrypted. One uniform error for key and tag failures (S21)."""

    code = "jwe_decryption_failed"


class ClaimsError(JoseError):
    """A JWT's claims do not satisfy the policy."""

    code = "jwt_invalid_claims"


class ExpiredError(ClaimsError):
    code = "jwt_expired"


class NotYetValidError(ClaimsError):
    code = "jwt_not_yet_valid"


class IssuedInFutureError(ClaimsError):
    code = "jwt_iat_in_future"


class TooOldError(ClaimsError):
    code = "jwt_too_old"


class MissingClaimError(ClaimsError):
    code = "jwt_missing_claim"


class InvalidClaimError(ClaimsError):
    """A claim has the wrong type or an unacceptable value (S14, S15)."""

    code = "jwt_invalid_claim"


class InvalidAudienceError(ClaimsError):
    code = "jwt_invalid_audience"


class InvalidIssuerError(ClaimsError):
    code = "jwt_invalid_issuer"


class InvalidSubjectError(ClaimsError):
    code = "jwt_invalid_subject"


class InvalidTypeError(JoseError):
    """The ``typ`` header is not the one the policy expects."""

    code = "jwt_invalid_typ"


class DPoPError(JoseError):
    """A DPoP proof (RFC 9449) is refused (S24). The base code covers a malformed proof;
    the subclasses name the check that failed. A resource server answers every one of
    them with ``invalid_dpop_proof``, except :class:`DPoPNonceError` (``use_dpop_nonce``)."""

    code = "dpop_invalid_proof"


class DPoPInvalidTypError(DPoPError):
    code = "dpop_invalid_typ"


class DPoPAlgorithmNotAllowedError(DPoPError):
    """``none``, HMAC or any algorithm outside the DPoP allow-list."""

    code = "dpop_alg_not_allowed"


class DPoPInvalidKeyError(DPoPError):
    """The ``jwk`` header is missing, malformed, private or unfit for the ``alg``."""

    code = "dpop_invalid_jwk"


class DPoPInvalidSignatureError(DPoPError):
    code = "dpop_invalid_signature"


class DPoPInvalidClaimError(DPoPError):
    """``jti``, ``htm``, ``htu`` or ``iat`` is missing or of the wrong type."""

    code = "dpop_invalid_claim"


class DPoPHtmMismatchError(DPoPError):
    code = "dpop_htm_mismatch"


class DPoPHtuMismatchError(DPoPError):
    code = "dpop_htu_mismatch"


class DPoPIatError(DPoPError):
    """``iat`` is in the future or older than the policy's window."""

    code = "dpop_iat_out_of_window"


class DPoPAthMismatchError(DPoPError):
    """``ath`` is missing or is not the hash of the access token presented with it."""

    code = "dpop_ath_mismatch"


class DPoPJktMismatchError(DPoPError):
    """The proof's key is not the one the token is bound to (``cnf.jkt``)."""

    code = "dpop_jkt_mismatch"


class DPoPNonceError(DPoPError):
    """The server requires a nonce and the proof has none, or a stale one (RFC 9449 §8, §9):
    the answer is ``use_dpop_nonce`` with a fresh ``DPoP-Nonce``."""

    code = "use_dpop_nonce"


class DPoPReplayedError(DPoPError):
    """This proof's ``jti`` was seen before (raised by callers' replay caches)."""

    code = "dpop_replayed"


__all__ = [
    "AlgorithmNotAllowedError",
    "ClaimsError",
    "CritError",
    "DPoPAlgorithmNotAllowedError",
    "DPoPAthMismatchError",
    "DPoPError",
    "DPoPHtmMismatchError",
    "DPoPHtuMismatchError",
    "DPoPIatError",
    "DPoPInvalidClaimError",
    "DPoPInvalidKeyError",
    "DPoPInvalidSignatureError",
    "DPoPInvalidTypError",
    "DPoPJktMismatchError",
    "DPoPNonceError",
    "DPoPReplayedError",
    "DecryptionError",
    "ExpiredError",
    "InvalidAudienceError",
    "InvalidClaimError",
    "InvalidIssuerError",
    "InvalidKeyError",
    "InvalidKeySetError",
    "InvalidSignatureError",
    "InvalidSubjectError",
    "InvalidTypeError",
    "IssuedInFutureError",
    "JWKError",
    "JoseError",
    "KeyMismatchError",
    "KeyNotFoundError",
    "LimitExceededError",
    "MalformedError",
    "MissingClaimError",
    "NotYetValidError",
    "TooOldError",
    "UnsupportedError",
    "WeakKeyError",
]

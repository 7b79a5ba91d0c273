"""Errors of the API side. Each is a :class:`~tokensmith.jose.errors.JoseError` with a
stable ``code``; only the adapters (middleware, framework glue) turn them into HTTP
status codes (DESIGN rule 9):

=================================  ======  =================================================
code                               status  meaning
=================================  ======  =================================================
``token_missing``                  401     no ``Authorization: Bearer`` credentials
``insufficient_scope``             403     verified, but lacks a required scope or role
``jwt_revoked``                    401     denied by the revocation feed's denylist
``jwt_sender_constrained``         401     a key-bound token (``cnf``) sent as a bearer token
``dpop_required``                  401     a Bearer token where the API accepts DPoP only
``dpop_token_not_bound``           401     a token without ``cnf.jkt`` sent with the DPoP scheme
``dpop_*`` (a ``DPoPError``)       401     a bad DPoP proof (``invalid_dpop_proof``)
``use_dpop_nonce``                 401     the proof lacks our current nonce (``DPoP-Nonce``)
``jwks_unavailable``               503     no usable key set (fetch failed past max staleness)
``revocation_feed_unavailable``    503     the feed is down longer than allowed (fail closed)
``token_inactive``                 401     introspection (high-risk routes) says not active
``introspection_unavailable``      503     introspection gave no usable answer (fail closed)
any other ``JoseError`` code       401     the token is invalid (``invalid_token``)
=================================  ======  =================================================
"""

from __future__ import annotations

from tokensmith.jose.errors import ClaimsError, JoseError, JWKError

try:  # the verified-token cache's error, when the cache is there: one class for one code
    from tokensmith.jose.cache import RevokedError as _CoreRevokedError
except ImportError:  # pragma: no cover - before the cache landed

    class _CoreRevokedError(ClaimsError):  # type: ignore[no-redef]
        code = "jwt_revoked"


class MissingTokenError(JoseError):
    """The request carries no bearer token (RFC 6750 §3.1: answer without an error code)."""

    code = "token_missing"


class InsufficientScopeError(JoseError):
    """The token is valid but lacks a scope or role the route requires (RFC 6750 §3.1)."""

    code = "insufficient_scope"

    def __init__(self, message: str, *, required: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.required = required


class RevokedError(_CoreRevokedError):
    """The revocation feed says this token is revoked (by ``jti``, ``sid`` or user)."""

    code = "jwt_revoked"


class SenderConstrainedError(ClaimsError):
    """The token is bound to a key (``cnf``: DPoP, RFC 9449; mTLS, RFC 8705) and was sent
    as a plain bearer token, which a bound token must never pass as (S24)."""

    code = "jwt_sender_constrained"


class DPoPRequiredError(ClaimsError):
    """The API accepts DPoP-bound tokens only and this one came as a plain bearer token."""

    code = "dpop_required"


class UnboundTokenError(ClaimsError):
    """A token sent with the ``DPoP`` scheme is not bound to a key (no ``cnf.jkt``):
    a proof by any key would otherwise pass for it (S24)."""

    code = "dpop_token_not_bound"


class UnavailableError(JoseError):
    """A dependency of verification is down: the verifier fails closed (HTTP 503)."""

    code = "resource_unavailable"


class KeySetUnavailableError(UnavailableError, JWKError):
    """No usable key set: the fetch failed and the cached set is older than allowed."""

    code = "jwks_unavailable"


class FeedUnavailableError(UnavailableError):
    """The revocation feed has been down longer than the configured outage allowance."""

    code = "revocation_feed_unavailable"


class FetchError(JWKError):
    """One fetch of a remote document failed (refused URL, redirect, size, time, status)."""

    code = "jwks_fetch_failed"


__all__ = [
    "DPoPRequiredError",
    "FeedUnavailableError",
    "FetchError",
    "InsufficientScopeError",
    "KeySetUnavailableError",
    "MissingTokenError",
    "RevokedError",
    "SenderConstrainedError",
    "UnavailableError",
    "UnboundTokenError",
]

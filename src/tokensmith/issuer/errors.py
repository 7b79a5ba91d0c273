"""Domain errors of the issuer. No HTTP status codes here (DESIGN rule 9): server/ maps them.

- :class:`AuthError` carries a stable ``code`` for first-party endpoints:

  ``invalid_credentials``  unknown user or wrong password (one answer for both, S26)
  ``account_disabled``     the account is disabled (only after a correct password)
  ``registration_closed``  registration is closed
  ``invite_required``      registration needs an invite and none (or a bad one) was given
  ``username_taken``       the username exists
  ``invalid_username``     the username is empty, too long or has forbidden characters
  ``weak_password``        the password is shorter than the minimum
  ``password_too_long``    the password is longer than the maximum
  ``invalid_token``        an access token is malformed, expired, not ours or revoked
  ``session_not_found``    no such session for this user
  ``user_not_found``       no such user (operator commands only, never login)
  ``forbidden``            the caller may not do this
  ``invalid_setup_token``  the one-time setup token is wrong, used or expired
  ``admin_exists``         a setup token was asked for but an admin already exists
  ``key_not_found``        no such signing key
  ``key_state``            the key is not in a state that allows this (e.g. retiring current)
  ``rate_limited``         :class:`RateLimitedError`, with ``retry_after`` seconds

- :class:`OAuthError` carries an RFC 6749 §5.2 ``error`` (``invalid_request``,
  ``invalid_grant``, ``invalid_client``, ``unauthorized_client``,
  ``unsupported_grant_type``, ``invalid_scope``) for the token and refresh endpoints.

- DPoP (RFC 9449): :class:`DPoPProofError` (an :class:`OAuthError`) at the token
  endpoints, ``invalid_dpop_proof`` or ``use_dpop_nonce`` (§5, §8);
  :class:`DPoPAuthError` (an :class:`AuthError`) at the server's protected endpoints,
  ``invalid_token``, ``invalid_dpop_proof`` or ``use_dpop_nonce`` (§7.1, §9). Both carry
  the server ``nonce`` to send as ``DPoP-Nonce`` (None when nonces are off).
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "DPoPAuthError",
    "DPoPProofError",
    "MasterKeyError",
    "OAuthError",
    "RateLimitedError",
]


class AuthError(Exception):
    """A refused account or session operation, with a stable ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.code!r}, {self.message!r})"


class RateLimitedError(AuthError):
    """Too many attempts; try again after ``retry_after`` seconds (S26)."""

    def __init__(self, retry_after: int, message: str = "too many attempts") -> None:
        super().__init__("rate_limited", message)
        self.retry_after = max(1, int(retry_after))


class OAuthError(Exception):
    """An RFC 6749 §5.2 error: ``error`` is the registered code, ``description`` is for people."""

    def __init__(self, error: str, description: str = "") -> None:
        super().__init__(f"{error}: {description}" if description else error)
        self.error = error
        self.description = description

    def __repr__(self) -> str:
        return f"OAuthError({self.error!r}, {self.description!r})"


class MasterKeyError(Exception):
    """The stored signing keys do not decrypt with this master key (a wrong
    ``TOKENSMITH_MASTER_KEY`` or key file). Raised by ``Issuer.open``; fatal at start."""


class DPoPProofError(OAuthError):
    """A token request's DPoP proof is refused (RFC 9449 §5): ``invalid_dpop_proof``, or
    ``use_dpop_nonce`` when the server nonce is missing or stale (§8)."""

    def __init__(self, error: str, description: str, *, nonce: str | None = None) -> None:
        super().__init__(error, description)
        self.nonce = nonce


class DPoPAuthError(AuthError):
    """A request to a protected endpoint of the server is refused for DPoP reasons
    (RFC 9449 §7.1): ``invalid_token`` (a bound token sent as Bearer, or an unbound one as
    DPoP), ``invalid_dpop_proof`` or ``use_dpop_nonce``. ``algs``: the accepted proof
    algorithms, for the ``WWW-Authenticate: DPoP`` challenge."""

    def __init__(
        self, code: str, message: str, *, algs: tuple[str, ...], nonce: str | None = None
    ) -> None:
        super().__init__(code, message)
        self.algs = algs
        self.nonce = nonce

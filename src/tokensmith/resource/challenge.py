"""RFC 6750 answers, shared by every adapter: the one place in resource/ that knows
HTTP status codes (DESIGN rule 9).

- no credentials → 401, ``WWW-Authenticate: Bearer`` without an error (§3.1);
- a malformed ``Authorization`` header → 400 ``invalid_request``;
- an invalid, expired or revoked token → 401 ``invalid_token``;
- a valid token without the scope/role a route needs → 403 ``insufficient_scope``;
- keys or revocation feed unavailable (fail closed) → 503 ``temporarily_unavailable``
  with ``Retry-After``: the token is not known to be bad, the API cannot tell right now.

With DPoP (RFC 9449 §7.1), the challenge uses the ``DPoP`` scheme with ``algs``: a bad
proof → 401 ``invalid_dpop_proof``; a missing or stale nonce → 401 ``use_dpop_nonce``
with a fresh ``DPoP-Nonce``; a bad token sent with the DPoP scheme, or a bound token
sent as Bearer → 401 ``invalid_token``. A request without credentials gets both a
``Bearer`` and a ``DPoP`` challenge (only ``DPoP`` when Bearer is not accepted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from tokensmith.jose.errors import DPoPError, DPoPNonceError, JoseError

from .errors import (
    DPoPRequiredError,
    InsufficientScopeError,
    MissingTokenError,
    SenderConstrainedError,
    UnavailableError,
)

_UNSAFE: Final = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")
RETRY_AFTER_SECONDS: Final = 5


class InvalidRequestError(JoseError):
    """The ``Authorization`` header is malformed (RFC 6750 §3.1 ``invalid_request``)."""

    code = "invalid_request"


@dataclass(frozen=True, slots=True)
class Challenge:
    """An HTTP answer to a refused request: status, headers and a JSON body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: dict[str, str]


@dataclass(frozen=True, slots=True)
class DPoPChallenge:
    """What the DPoP challenge needs: the accepted ``algs`` (space-separated), whether the
    request ``used`` the DPoP scheme, whether ``bearer`` tokens are still accepted, and a
    ``nonce`` to send as ``DPoP-Nonce`` (None without resource-server nonces)."""

    algs: str
    used: bool = False
    bearer: bool = True
    nonce: str | None = None


def _quoted(text: str) -> str:
    return _UNSAFE.sub("?", text)[:200]


def _status_and_error(exc: JoseError) -> tuple[int, str | None]:
    if isinstance(exc, MissingTokenError):
        return 401, None
    if isinstance(exc, InvalidRequestError):
        return 400, "invalid_request"
    if isinstance(exc, InsufficientScopeError):
        return 403, "insufficient_scope"
    if isinstance(exc, UnavailableError):
        return 503, "temporarily_unavailable"
    if isinstance(exc, DPoPNonceError):
        return 401, "use_dpop_nonce"
    if isinstance(exc, DPoPError):
        return 401, "invalid_dpop_proof"
    return 401, "invalid_token"


def challenge_for(
    exc: JoseError, *, realm: str | None = None, dpop: DPoPChallenge | None = None
) -> Challenge:
    """The RFC 6750 (and, with ``dpop``, RFC 9449 §7.1) answer for a refusal."""
    status, error = _status_and_error(exc)
    params: list[str] = []
    if realm:
        params.append(f'realm="{_quoted(realm)}"')
    headers: list[tuple[str, str]] = []
    if status == 503:
        headers.append(("retry-after", str(RETRY_AFTER_SECONDS)))
    if error is not None and status != 503:
        params.append(f'error="{error}"')
        params.append(f'error_description="{_quoted(exc.message)}"')
        if isinstance(exc, InsufficientScopeError) and exc.required:
            params.append(f'scope="{_quoted(" ".join(exc.required))}"')
    if status != 503:
        if dpop is None:
            headers.insert(0, ("www-authenticate", _value("Bearer", params)))
        else:
            headers[:0] = _dpop_challenges(exc, params, realm, dpop)
    if dpop is not None and dpop.nonce is not None and error == "use_dpop_nonce":
        headers.append(("dpop-nonce", dpop.nonce))
    body = {"error": error or "unauthorized", "error_description": exc.message, "code": exc.code}
    return Challenge(status, tuple(headers), body)


def _value(scheme: str, params: list[str]) -> str:
    return scheme + (" " + ", ".join(params) if params else "")


def _dpop_challenges(
    exc: JoseError, params: list[str], realm: str | None, dpop: DPoPChallenge
) -> list[tuple[str, str]]:
    algs = f'algs="{_quoted(dpop.algs)}"'
    dpop_scheme = (
        dpop.used
        or isinstance(exc, (DPoPError, SenderConstrainedError, DPoPRequiredError))
        or not dpop.bearer
    )
    if isinstance(exc, MissingTokenError) and dpop.bearer:
        # No credentials: offer both schemes (RFC 9449 §7.1).
        return [
            ("www-authenticate", _value("Bearer", params)),
            ("www-authenticate", _value("DPoP", [*params, algs])),
        ]
    if dpop_scheme:
        return [("www-authenticate", _value("DPoP", [*params, algs]))]
    return [("www-authenticate", _value("Bearer", params))]


def credentials(authorization: str | None) -> tuple[str, str]:
    """The scheme (``"bearer"`` or ``"dpop"``) and token of an ``Authorization`` header;
    raises :class:`MissingTokenError` (no header, or another scheme) or
    :class:`InvalidRequestError` (a malformed one)."""
    value = authorization.strip() if authorization is not None else ""
    if not value:
        raise MissingTokenError("no bearer or DPoP token")
    scheme, _, token = value.partition(" ")
    scheme = scheme.lower()
    if scheme not in ("bearer", "dpop"):
        raise MissingTokenError("no bearer or DPoP token (another authorization scheme)")
    token = token.strip()
    # RFC 6750 b64token: one word of token68 characters. What passes here is parsed
    # strictly by tokensmith.jose (base64url segments), so only the shape is checked.
    if not token or len(token) > 16_384 or " " in token or "\t" in token:
        raise InvalidRequestError(f"the Authorization header is not '{scheme} <token>'")
    return scheme, token


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value; raises
    :class:`MissingTokenError` (no header, or another scheme) or
    :class:`InvalidRequestError` (a malformed one)."""
    scheme, token = credentials(authorization)
    if scheme != "bearer":
        raise MissingTokenError("no bearer token (another authorization scheme)")
    return token


__all__ = [
    "Challenge",
    "DPoPChallenge",
    "InvalidRequestError",
    "bearer_token",
    "challenge_for",
    "credentials",
]

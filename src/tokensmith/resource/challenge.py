"""RFC 6750 answers, shared by every adapter: the one place in resource/ that knows
HTTP status codes (DESIGN rule 9).

- no credentials → 401, ``WWW-Authenticate: Bearer`` without an error (§3.1);
- a malformed ``Authorization`` header → 400 ``invalid_request``;
- an invalid, expired or revoked token → 401 ``invalid_token``;
- a valid token without the scope/role a route needs → 403 ``insufficient_scope``;
- keys or revocation feed unavailable (fail closed) → 503 ``temporarily_unavailable``
  with ``Retry-After``: the token is not known to be bad, the API cannot tell right now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from tokensmith.jose.errors import JoseError

from .errors import InsufficientScopeError, MissingTokenError, UnavailableError

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


def _quoted(text: str) -> str:
    return _UNSAFE.sub("?", text)[:200]


def challenge_for(exc: JoseError, *, realm: str | None = None) -> Challenge:
    """The RFC 6750 answer for a refusal."""
    params: list[str] = []
    if realm:
        params.append(f'realm="{_quoted(realm)}"')
    headers: list[tuple[str, str]] = []
    if isinstance(exc, MissingTokenError):
        status, error = 401, None
    elif isinstance(exc, InvalidRequestError):
        status, error = 400, "invalid_request"
    elif isinstance(exc, InsufficientScopeError):
        status, error = 403, "insufficient_scope"
    elif isinstance(exc, UnavailableError):
        status, error = 503, "temporarily_unavailable"
        headers.append(("retry-after", str(RETRY_AFTER_SECONDS)))
    else:
        status, error = 401, "invalid_token"
    if error is not None and status != 503:
        params.append(f'error="{error}"')
        params.append(f'error_description="{_quoted(exc.message)}"')
        if isinstance(exc, InsufficientScopeError) and exc.required:
            params.append(f'scope="{_quoted(" ".join(exc.required))}"')
    value = "Bearer" + (" " + ", ".join(params) if params else "")
    if status != 503:
        headers.insert(0, ("www-authenticate", value))
    body = {"error": error or "unauthorized", "error_description": exc.message, "code": exc.code}
    return Challenge(status, tuple(headers), body)


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer <token>`` header value; raises
    :class:`MissingTokenError` (no header, or another scheme) or
    :class:`InvalidRequestError` (a malformed one)."""
    if authorization is None or not authorization.strip():
        raise MissingTokenError("no bearer token")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise MissingTokenError("no bearer token (another authorization scheme)")
    token = token.strip()
    # RFC 6750 b64token: one word of token68 characters. What passes here is parsed
    # strictly by tokensmith.jose (base64url segments), so only the shape is checked.
    if not token or len(token) > 16_384 or " " in token or "\t" in token:
        raise InvalidRequestError("the Authorization header is not 'Bearer <token>'")
    return token


__all__ = ["Challenge", "InvalidRequestError", "bearer_token", "challenge_for"]

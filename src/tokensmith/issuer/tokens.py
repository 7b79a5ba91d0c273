"""Refresh-token values and access-token claims.

A refresh token is 256 random bits, base64url (43 characters); the store keeps only its
SHA-256 (S27). A child token is HMAC-SHA256(refresh secret, parent): the server can give
the same child again to a retry inside the grace window (S25) without ever storing a raw
token, and nobody without the master key can compute it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from typing import Any

from tokensmith.jose.encoding import b64url_encode

from .dpop import bind

__all__ = [
    "RefreshSecrets",
    "access_claims",
    "hash_secret",
    "looks_like_refresh_token",
    "new_refresh_token",
]

_REFRESH_SHAPE = re.compile(r"[A-Za-z0-9_-]{43}")


def new_refresh_token() -> str:
    return b64url_encode(secrets.token_bytes(32))


def looks_like_refresh_token(value: object) -> bool:
    return isinstance(value, str) and _REFRESH_SHAPE.fullmatch(value) is not None


def hash_secret(value: str) -> str:
    """SHA-256 hex of a high-entropy secret (refresh token, invite, setup token)."""
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


class RefreshSecrets:
    def __init__(self, derivation_key: bytes) -> None:
        self._key = derivation_key

    def child_of(self, parent: str) -> str:
        digest = hmac.new(self._key, parent.encode("ascii"), hashlib.sha256).digest()
        return b64url_encode(digest)


def access_claims(
    *,
    issuer: str,
    subject: str,
    audience: tuple[str, ...],
    now: int,
    ttl: int,
    client_id: str,
    scope: str,
    session_id: str,
    roles: tuple[str, ...],
    auth_time: int,
    extra: Mapping[str, Any],
    jkt: str | None = None,
) -> dict[str, Any]:
    """RFC 9068 claims of one access token; with ``jkt`` it is DPoP-bound
    (``cnf.jkt``, RFC 9449 §6.1)."""
    claims: dict[str, Any] = dict(extra)
    claims.update(
        {
            "iss": issuer,
            "sub": subject,
            "aud": audience[0] if len(audience) == 1 else list(audience),
            "exp": now + ttl,
            "iat": now,
            "nbf": now,
            "jti": secrets.token_urlsafe(16),
            "client_id": client_id,
            "sid": session_id,
            "roles": list(roles),
            "auth_time": auth_time,
        }
    )
    if scope:
        claims["scope"] = scope
    bind(claims, jkt)
    return claims

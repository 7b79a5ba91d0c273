"""The issuer's result values: what server/ and cli/ get back. Frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "AccessClaims",
    "AuditEvent",
    "KeyInfo",
    "RequestContext",
    "RevocationEvent",
    "SessionInfo",
    "TokenPair",
    "UserInfo",
]


@dataclass(frozen=True)
class RequestContext:
    """Who is asking: for rate limits (``ip``) and audit events. Never holds a secret."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class TokenPair:
    """What login and refresh answer. ``expires_in`` / ``refresh_expires_in`` are seconds."""

    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int
    session_id: str
    scope: str
    token_type: str = "Bearer"  # noqa: S105 (the RFC 6750 scheme name)


@dataclass(frozen=True)
class UserInfo:
    id: str
    username: str
    roles: tuple[str, ...]
    created_at: float
    disabled: bool

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


@dataclass(frozen=True)
class SessionInfo:
    id: str
    client_id: str
    created_at: float
    last_used_at: float
    expires_at: float
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True)
class KeyInfo:
    kid: str
    alg: str
    state: Literal["next", "current", "previous", "retired"]
    created_at: float
    activated_at: float | None
    deactivated_at: float | None
    retired_at: float | None
    #: in the JWKS now (HS keys never are)
    published: bool
    #: published until (None: no end yet)
    publish_until: float | None


@dataclass(frozen=True)
class RevocationEvent:
    """An entry of the revocation feed (``GET /auth/revocations``).

    - ``kind="jti"``: deny the access token whose ``jti`` is ``value``.
    - ``kind="sid"``: deny every access token whose ``sid`` is ``value``.
    - ``kind="sub"``: deny access tokens whose ``sub`` is ``value`` and ``iat`` is
      before ``not_before``.

    ``expires_at``: the entry may be forgotten then (the tokens it denies have expired).
    ``id`` increases monotonically; resume a feed with ``after=<last id seen>``.
    """

    id: int
    kind: Literal["jti", "sid", "sub"]
    value: str
    created_at: float
    expires_at: float
    not_before: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id,
            "kind": self.kind,
            "value": self.value,
            "created_at": self.created_at,
            "expires_at": self.expires_at,
        }
        if self.not_before is not None:
            out["not_before"] = self.not_before
        return out


@dataclass(frozen=True)
class AccessClaims:
    """A verified, unrevoked first-party access token."""

    sub: str
    sid: str
    jti: str
    client_id: str
    scope: str
    roles: tuple[str, ...]
    exp: int
    iat: int
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


@dataclass(frozen=True)
class AuditEvent:
    id: int | None
    kind: str
    at: float
    user_id: str | None
    username: str | None
    session_id: str | None
    ip: str | None
    details: dict[str, Any]

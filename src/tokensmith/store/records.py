"""What the store keeps, as frozen dataclasses. Times are POSIX seconds (float).

Nothing here is a secret in the clear: refresh tokens, invites and setup tokens are kept
as SHA-256 hashes, passwords as argon2id hashes, private keys encrypted (S27).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "DPOP_MODES",
    "AuditRecord",
    "ClientRecord",
    "ConsumeResult",
    "DPoPMode",
    "InviteRecord",
    "KeyRecord",
    "KeyState",
    "RefreshTokenRecord",
    "RefreshTokenWithOwner",
    "RevocationKind",
    "RevocationRecord",
    "SessionRecord",
    "UserRecord",
]

KeyState = Literal["next", "current", "previous", "retired"]
#: a client's DPoP mode (RFC 9449): proofs required, accepted, or ignored
DPoPMode = Literal["required", "optional", "off"]
DPOP_MODES: tuple[DPoPMode, ...] = ("required", "optional", "off")
RevocationKind = Literal["jti", "sid", "sub"]


@dataclass(frozen=True)
class UserRecord:
    id: str
    username: str
    #: the unique, case-folded form used for lookups
    username_key: str
    password_hash: str
    created_at: float
    updated_at: float
    roles: tuple[str, ...] = ()
    disabled_at: float | None = None

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


@dataclass(frozen=True)
class SessionRecord:
    """A session is one refresh-token family."""

    id: str
    user_id: str
    client_id: str
    scope: str
    created_at: float
    last_used_at: float
    #: absolute end of the session (refresh_absolute_ttl after login)
    expires_at: float
    ip: str | None = None
    user_agent: str | None = None
    revoked_at: float | None = None
    revoked_reason: str | None = None
    #: RFC 7638 thumbprint of the DPoP key the family is bound to (RFC 9449 §5); None:
    #: not bound (its refresh tokens work without a proof)
    dpop_jkt: str | None = None

    def active(self, now: float) -> bool:
        return self.revoked_at is None and now < self.expires_at


@dataclass(frozen=True)
class RefreshTokenRecord:
    """One refresh token, known only by its hash."""

    token_hash: str
    session_id: str
    user_id: str
    issued_at: float
    #: idle expiry, never past the session's absolute expiry
    expires_at: float
    parent_hash: str | None = None
    consumed_at: float | None = None


@dataclass(frozen=True)
class ConsumeResult:
    """What :meth:`RefreshTokenStore.consume` did.

    - ``won``: this caller consumed the token (exactly one caller ever does).
    - ``token``: the token as stored after the call (``None``: unknown hash).
    - ``child``: the token issued when it was consumed (the winner's replacement), if any.

    A loser tells a grace-window retry from a reuse with :meth:`is_grace_retry`.
    """

    won: bool
    token: RefreshTokenRecord | None
    child: RefreshTokenRecord | None = None
    #: the id of the audit record stored with a winning consume (None: none given, or lost)
    audit_id: int | None = None

    @property
    def found(self) -> bool:
        return self.token is not None

    def is_grace_retry(self, now: float, grace: float) -> bool:
        """A loser's retry of the just-consumed token: consumed at most ``grace`` seconds
        ago, and its child not consumed yet (else it is an ancestor: reuse)."""
        token = self.token
        if self.won or token is None or token.consumed_at is None or grace <= 0:
            return False
        if self.child is None or self.child.consumed_at is not None:
            return False
        return now - token.consumed_at <= grace


@dataclass(frozen=True)
class RefreshTokenWithOwner:
    """A refresh token with its session and its user, read together
    (:meth:`RefreshTokenStore.get_with_owner`); ``session`` or ``user`` is None when it
    no longer exists."""

    token: RefreshTokenRecord
    session: SessionRecord | None
    user: UserRecord | None


@dataclass(frozen=True)
class KeyRecord:
    """A signing key and its place in the lifecycle next → current → previous → retired.

    ``private_jwk`` is the private JWK, AES-GCM encrypted under the master key (S27);
    empty once a retired key is no longer published. ``public_jwk`` is JSON (empty for
    symmetric keys, which are never published).
    """

    kid: str
    alg: str
    state: KeyState
    private_jwk: bytes
    public_jwk: str
    created_at: float
    activated_at: float | None = None
    deactivated_at: float | None = None
    retired_at: float | None = None
    #: published (and usable to verify) until this time; None: no end yet
    publish_until: float | None = None


@dataclass(frozen=True)
class RevocationRecord:
    """One entry of the revocation feed; ids increase monotonically.

    - ``jti``: the access token with this ``jti`` is denied.
    - ``sid``: every access token of this session is denied.
    - ``sub``: access tokens of this user issued (``iat``) before ``not_before`` are denied.

    The entry can be forgotten at ``expires_at``: every token it denies has expired by then.
    """

    id: int
    kind: RevocationKind
    value: str
    created_at: float
    expires_at: float
    not_before: float | None = None


@dataclass(frozen=True)
class AuditRecord:
    """An audit event. ``details`` never holds a token or a password."""

    kind: str
    at: float
    user_id: str | None = None
    username: str | None = None
    session_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


@dataclass(frozen=True)
class InviteRecord:
    code_hash: str
    created_at: float
    expires_at: float
    created_by: str | None = None
    used_at: float | None = None
    used_by: str | None = None


@dataclass(frozen=True)
class ClientRecord:
    """An OAuth client (issue 6). ``secret_hash`` is the SHA-256 of a 256-bit secret
    (confidential ``client_secret_*`` clients), never the secret. Lists are tuples of
    plain strings; ``jwks`` is an inline JWK Set as JSON text (``private_key_jwt``)."""

    client_id: str
    name: str
    auth_method: str
    created_at: float
    updated_at: float
    secret_hash: str | None = None
    grant_types: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    audiences: tuple[str, ...] = ()
    access_ttl: int | None = None
    signing_alg: str | None = None
    cookie_mode: bool = False
    jwks: str | None = None
    jwks_uri: str | None = None
    disabled_at: float | None = None
    #: DPoP (RFC 9449): ``required`` (a token request without a proof is refused),
    #: ``optional`` (a proof binds the token) or ``off`` (a proof is ignored)
    dpop: DPoPMode = "optional"

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None

    @property
    def public(self) -> bool:
        return self.auth_method == "none"

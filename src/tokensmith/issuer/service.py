"""The issuer's public API: what an auth server does, without HTTP.

server/ and cli/ call only this module (plus errors.py and config.py). Every method is
keyword-only; errors are :class:`~tokensmith.issuer.errors.AuthError` (stable ``code``),
:class:`~tokensmith.issuer.errors.RateLimitedError` (``retry_after``) and, for the
token/refresh endpoints, :class:`~tokensmith.issuer.errors.OAuthError` (RFC 6749 §5.2).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from tokensmith.store import Stores

from .config import IssuerConfig
from .passwords import PasswordHasher

__all__ = [
    "AccessClaims",
    "AuditEvent",
    "Issuer",
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


_NO_CONTEXT = RequestContext()


class Issuer:
    """Accounts, sessions (refresh-token families), keys, minting and revocation.

    Build with :meth:`open` (loads or creates keys, loads the denylist); call
    :meth:`close` when done. Safe to use from many tasks of one event loop; several
    processes may share one SQL database.
    """

    @classmethod
    async def open(
        cls,
        config: IssuerConfig,
        stores: Stores,
        *,
        master_key: bytes,
        clock: Callable[[], float] = time.time,
        hasher: PasswordHasher | None = None,
    ) -> Issuer:
        """``master_key``: 32 bytes; private keys are encrypted under it (AES-GCM) and
        child refresh tokens derived from it. ``hasher``: tests only (the default is
        argon2id with ``config.argon2``). Creates the first signing keys when there are none."""
        raise NotImplementedError

    async def close(self) -> None:
        """Stop the hashing threads. Does not close ``stores`` (the caller owns them)."""
        raise NotImplementedError

    # ---- accounts -------------------------------------------------------------------

    async def register(
        self,
        *,
        username: str,
        password: str,
        invite: str | None = None,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> UserInfo:
        """Create an account (per ``config.registration``). Errors: registration_closed,
        invite_required, username_taken, invalid_username, weak_password,
        password_too_long, rate_limited."""
        raise NotImplementedError

    async def login(
        self,
        *,
        username: str,
        password: str,
        client_id: str | None = None,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> TokenPair:
        """Check the password and start a session. Unknown user and wrong password give
        the same ``invalid_credentials`` after the same work (S26). Errors:
        invalid_credentials, account_disabled, rate_limited."""
        raise NotImplementedError

    async def change_password(
        self,
        *,
        user_id: str,
        old_password: str,
        new_password: str,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> None:
        """Errors: invalid_credentials, weak_password, password_too_long, rate_limited.
        Other sessions of the user stay (call :meth:`logout_all` to end them)."""
        raise NotImplementedError

    async def get_user(self, *, user_id: str) -> UserInfo:
        """Errors: user_not_found."""
        raise NotImplementedError

    async def userinfo(self, claims: AccessClaims) -> dict[str, Any]:
        """OIDC-style userinfo for a verified token: ``sub``, ``preferred_username``, ``roles``."""
        raise NotImplementedError

    # ---- tokens and sessions ---------------------------------------------------------

    async def refresh(
        self,
        *,
        refresh_token: str,
        client_id: str | None = None,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> TokenPair:
        """Rotate (S25): consume the token atomically, issue its child in the same session.
        A retry of the just-consumed token within ``refresh_grace`` gets the same child;
        reuse outside it, or of any older ancestor, revokes the whole session and denies
        its access tokens. Errors: OAuthError("invalid_grant") for unknown, expired,
        consumed or revoked tokens; OAuthError("invalid_client") when ``client_id`` is
        given and is not the session's."""
        raise NotImplementedError

    async def logout(
        self,
        *,
        refresh_token: str | None = None,
        session_id: str | None = None,
        user_id: str | None = None,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> None:
        """End one session, named by its refresh token or by ``session_id`` (then
        ``user_id`` must own it). Unknown or already-ended sessions are not an error."""
        raise NotImplementedError

    async def logout_all(self, *, user_id: str, ctx: RequestContext = _NO_CONTEXT) -> int:
        """End every session of the user and deny their access tokens; how many ended."""
        raise NotImplementedError

    async def list_sessions(self, *, user_id: str) -> list[SessionInfo]:
        """The user's active sessions, newest first."""
        raise NotImplementedError

    async def revoke_session(
        self, *, user_id: str, session_id: str, ctx: RequestContext = _NO_CONTEXT
    ) -> None:
        """End a session of this user. Errors: session_not_found (also for another
        user's session)."""
        raise NotImplementedError

    async def revoke_token(
        self,
        *,
        token: str,
        token_type_hint: str | None = None,
        client_id: str | None = None,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> None:
        """RFC 7009: a refresh token ends its session; an access token of ours is denied
        by ``jti``. Never reveals whether the token was valid: unknown tokens and
        malformed ones return normally."""
        raise NotImplementedError

    async def authenticate(self, access_token: str) -> AccessClaims:
        """Verify one of our access tokens (signature with our keys, ``typ: at+jwt``,
        iss, aud, exp) and check the denylist (jti, sid, per-user not-before).
        Errors: AuthError("invalid_token")."""
        raise NotImplementedError

    # ---- keys and discovery ----------------------------------------------------------

    def jwks(self) -> dict[str, Any]:
        """The published JWK Set (public keys: next, current, previous, retired until
        their tokens expire). Never an HS key. Cheap: served from memory."""
        raise NotImplementedError

    def jwks_max_age(self) -> int:
        """Seconds for ``Cache-Control: max-age`` of the JWKS."""
        raise NotImplementedError

    def metadata(self, base_url: str | None = None) -> dict[str, Any]:
        """RFC 8414 / OIDC discovery metadata; endpoint URLs are built on ``base_url``
        (default: the issuer URL)."""
        raise NotImplementedError

    async def maintain_keys(self) -> None:
        """Rotate and retire on schedule; the server calls this periodically (every
        minute is plenty) and it is cheap when there is nothing to do. Also reloads keys
        changed by another process."""
        raise NotImplementedError

    async def rotate_keys(
        self, *, force: bool = False, ctx: RequestContext = _NO_CONTEXT
    ) -> KeyInfo:
        """Make the next key current now; returns the new current key. Without ``force``,
        the next key must have been published for ``jwks_max_age`` (else AuthError
        ``key_state``); with ``force`` it signs at once (caches may not know it yet)."""
        raise NotImplementedError

    async def retire_key(self, *, kid: str, ctx: RequestContext = _NO_CONTEXT) -> None:
        """Retire a next or previous key (it stays published until its tokens expire).
        Errors: key_not_found, key_state (the current key: rotate first)."""
        raise NotImplementedError

    async def list_keys(self) -> list[KeyInfo]:
        raise NotImplementedError

    # ---- revocation feed -------------------------------------------------------------

    async def revocation_events(
        self, *, after: int | None = None, limit: int = 500
    ) -> list[RevocationEvent]:
        """Unexpired events with ``id > after`` (all when None), oldest first."""
        raise NotImplementedError

    async def wait_for_revocations(
        self, *, after: int | None, timeout: float
    ) -> list[RevocationEvent]:
        """Like :meth:`revocation_events`, but waits up to ``timeout`` seconds for the
        first new event (for SSE); an empty list on timeout."""
        raise NotImplementedError

    # ---- operators (CLI) and admin -----------------------------------------------------

    async def add_user(
        self,
        *,
        username: str,
        password: str,
        admin: bool = False,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> UserInfo:
        """Create a user whatever ``registration`` says. Errors: username_taken,
        invalid_username, weak_password, password_too_long."""
        raise NotImplementedError

    async def list_users(self, *, limit: int = 100, offset: int = 0) -> list[UserInfo]:
        raise NotImplementedError

    async def disable_user(self, *, username: str, ctx: RequestContext = _NO_CONTEXT) -> None:
        """Disable, end every session and deny every access token of the user.
        Errors: user_not_found."""
        raise NotImplementedError

    async def enable_user(self, *, username: str, ctx: RequestContext = _NO_CONTEXT) -> None:
        raise NotImplementedError

    async def set_password(
        self, *, username: str, password: str, ctx: RequestContext = _NO_CONTEXT
    ) -> None:
        """Operator reset; ends every session of the user. Errors: user_not_found,
        weak_password, password_too_long."""
        raise NotImplementedError

    async def create_invite(
        self,
        *,
        created_by: str | None = None,
        ttl: int | None = None,
        ctx: RequestContext = _NO_CONTEXT,
    ) -> str:
        """A one-time invite code (shown once; only its hash is stored)."""
        raise NotImplementedError

    async def setup_token(self) -> str | None:
        """A fresh one-time setup token when no admin exists (to print at first start),
        else None. Each call replaces the previous token."""
        raise NotImplementedError

    async def redeem_setup_token(
        self, *, token: str, username: str, password: str, ctx: RequestContext = _NO_CONTEXT
    ) -> UserInfo:
        """Create the first admin with the setup token. Errors: invalid_setup_token,
        admin_exists, username_taken, invalid_username, weak_password, password_too_long."""
        raise NotImplementedError

    async def audit_events(
        self, *, limit: int = 100, user_id: str | None = None, kind: str | None = None
    ) -> list[AuditEvent]:
        """Newest first."""
        raise NotImplementedError

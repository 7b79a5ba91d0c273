"""Narrow storage Protocols, one per job (DESIGN rule 8). Every backend passes the one
contract suite in tests/contract/.

Every method that decides something under concurrency is atomic in every backend:
:meth:`RefreshTokenStore.consume`, :meth:`InviteStore.redeem`,
:meth:`SetupTokenStore.redeem`, :meth:`KeyStore.promote`, :meth:`UserStore.create`
(unique username).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from .records import (
    AuditRecord,
    ClientRecord,
    ConsumeResult,
    InviteRecord,
    KeyRecord,
    RefreshTokenRecord,
    RefreshTokenWithOwner,
    RevocationKind,
    RevocationRecord,
    SessionRecord,
    UserRecord,
)

__all__ = [
    "AssertionReplayStore",
    "AuditStore",
    "ClientStore",
    "InviteStore",
    "KeyStore",
    "NoticeHandler",
    "Notices",
    "RateLimiter",
    "RefreshTokenStore",
    "RevocationStore",
    "SessionStore",
    "SetupTokenStore",
    "UserStore",
]


class UserStore(Protocol):
    async def create(self, user: UserRecord) -> None:
        """Insert; raises :class:`~tokensmith.store.errors.DuplicateError` when the
        ``username_key`` (or id) exists."""

    async def get(self, user_id: str) -> UserRecord | None: ...

    async def get_by_username(self, username_key: str) -> UserRecord | None: ...

    async def set_password(self, user_id: str, password_hash: str, *, now: float) -> bool: ...

    async def set_disabled(
        self, user_id: str, disabled_at: float | None, *, now: float
    ) -> bool: ...

    async def set_roles(self, user_id: str, roles: Sequence[str], *, now: float) -> bool: ...

    async def list(
        self, *, limit: int = 100, offset: int = 0, search: str | None = None
    ) -> list[UserRecord]:
        """Ordered by creation time. ``search``: only users whose ``username_key``
        contains it (give it case-folded), or whose id is exactly it."""

    async def count_with_role(self, role: str) -> int: ...


class SessionStore(Protocol):
    async def create(
        self,
        session: SessionRecord,
        *,
        first_token: RefreshTokenRecord | None = None,
        audit: AuditRecord | None = None,
    ) -> int | None:
        """Insert the session and, in the same transaction, its first refresh token and
        the ``audit`` record; the audit record's id (None without one).
        :class:`~tokensmith.store.errors.DuplicateError` when the id exists (then nothing
        is stored)."""

    async def get(self, session_id: str) -> SessionRecord | None: ...

    async def touch(self, session_id: str, *, now: float) -> None: ...

    async def revoke(self, session_id: str, *, now: float, reason: str) -> bool:
        """Mark revoked; True when this call revoked it (it was not revoked before)."""

    async def bind_dpop(self, session_id: str, jkt: str) -> str | None:
        """Atomically bind an unbound session to the DPoP key ``jkt`` (RFC 9449 §5);
        the thumbprint the session is bound to after the call (``jkt``, or the one a
        concurrent caller set first), None for an unknown session. Never rebinds."""

    async def revoke_for_user(self, user_id: str, *, now: float, reason: str) -> list[str]:
        """Revoke every unrevoked session of the user; the ids this call revoked."""

    async def list_for_user(self, user_id: str, *, now: float) -> list[SessionRecord]:
        """Active (unrevoked, unexpired) sessions, newest first."""

    async def purge(self, *, before: float) -> int:
        """Delete sessions (and their refresh tokens) that ended before ``before``."""


class RefreshTokenStore(Protocol):
    async def add(self, token: RefreshTokenRecord) -> None: ...

    async def get(self, token_hash: str) -> RefreshTokenRecord | None: ...

    async def get_with_owner(self, token_hash: str) -> RefreshTokenWithOwner | None:
        """The token with its session and its user, in one read (None: unknown hash)."""

    async def consume(
        self,
        token_hash: str,
        now: float,
        *,
        child: RefreshTokenRecord | None = None,
        audit: AuditRecord | None = None,
    ) -> ConsumeResult:
        """Atomically mark the token consumed at ``now`` if it was not, and in the same
        transaction store its ``child`` (the replacement), set the child's session's
        ``last_used_at`` to ``now`` and append ``audit`` (its id is the result's
        ``audit_id``). Among N concurrent callers exactly one gets ``won=True``; the
        others get the token as stored (with ``consumed_at``) and the child the winner
        stored, and store nothing (not their ``audit`` either). Never read-then-write."""


class KeyStore(Protocol):
    async def add(self, key: KeyRecord) -> bool:
        """Insert; False when a key of the same ``alg`` in the same single-holder state
        (``next`` or ``current``) already exists (another process won), or the kid
        exists. Each algorithm has its own lifecycle."""

    async def list(self) -> list[KeyRecord]:
        """Every key, oldest first."""

    async def get(self, kid: str) -> KeyRecord | None: ...

    async def promote(
        self, *, next_kid: str, current_kid: str | None, now: float, publish_until: float
    ) -> bool:
        """In one transaction: every ``previous`` key of the algorithm of ``next_kid`` or
        ``current_kid`` becomes ``retired`` (keeping its ``publish_until``);
        ``current_kid`` (if given) becomes ``previous`` with ``deactivated_at=now`` and
        ``publish_until``; ``next_kid`` becomes ``current`` with ``activated_at=now``.
        False (and nothing changed) when either key is no longer in the expected state,
        or another current key of ``next_kid``'s algorithm exists."""

    async def retire(self, kid: str, *, now: float, publish_until: float) -> bool:
        """``next`` or ``previous`` → ``retired``; False when the key is not in one of
        those states."""

    async def demote(self, kid: str, *, now: float, publish_until: float) -> bool:
        """``current`` → ``previous`` (``deactivated_at=now``, ``publish_until``) with no
        successor: its algorithm is no longer used. False when the key is not current."""

    async def forget_private(self, kid: str) -> bool:
        """Wipe the (encrypted) private key of a previous or retired key that is no longer
        published; False for next and current keys."""


class RevocationStore(Protocol):
    async def add(
        self,
        kind: RevocationKind,
        value: str,
        *,
        now: float,
        expires_at: float,
        not_before: float | None = None,
    ) -> RevocationRecord:
        """Append an entry with the next id (ids increase monotonically)."""

    async def after(
        self, after_id: int | None, *, now: float, limit: int = 500
    ) -> list[RevocationRecord]:
        """Unexpired entries with ``id > after_id`` (all when None), in id order."""

    async def last_id(self) -> int:
        """The highest id ever given (0 when none)."""

    async def purge(self, *, now: float) -> int:
        """Delete expired entries (their ids are never reused)."""


class AuditStore(Protocol):
    async def append(self, record: AuditRecord) -> int: ...

    async def list(
        self,
        *,
        limit: int = 100,
        user_id: str | None = None,
        kind: str | None = None,
        before_id: int | None = None,
        since: float | None = None,
        until: float | None = None,
    ) -> list[AuditRecord]:
        """Newest first. ``before_id``: only records with a smaller id (the next page);
        ``since`` / ``until``: only records with ``since <= at < until``."""


class InviteStore(Protocol):
    async def add(self, invite: InviteRecord) -> None: ...

    async def redeem(self, code_hash: str, *, now: float, used_by: str) -> bool:
        """Atomically use an unused, unexpired invite; True for exactly one caller."""


class SetupTokenStore(Protocol):
    async def put(self, token_hash: str, *, now: float, expires_at: float) -> None:
        """Replace any earlier setup token."""

    async def redeem(self, token_hash: str, *, now: float) -> bool:
        """Atomically use the setup token; True for exactly one caller."""

    async def exists(self, *, now: float) -> bool: ...


class RateLimiter(Protocol):
    """Failure counters with back-off. ``rule`` values come from the issuer's config."""

    async def blocked_for(self, key: str, *, now: float) -> float:
        """Seconds until ``key`` may try again (0: now)."""

    async def failure(
        self, key: str, *, now: float, limit: int, window: float, backoff: float, max_backoff: float
    ) -> float:
        """Count a failure; the seconds ``key`` is now blocked for (0: not blocked)."""

    async def reset(self, key: str) -> None: ...


class ClientStore(Protocol):
    """OAuth clients. Secrets only as hashes (S27)."""

    async def create(self, client: ClientRecord) -> None:
        """Insert; :class:`~tokensmith.store.errors.DuplicateError` when the id exists."""

    async def get(self, client_id: str) -> ClientRecord | None: ...

    async def list(self, *, limit: int = 100, offset: int = 0) -> list[ClientRecord]:
        """Ordered by creation time, then id."""

    async def set_secret(self, client_id: str, secret_hash: str, *, now: float) -> bool:
        """Replace the secret hash; False for an unknown client."""

    async def set_disabled(
        self, client_id: str, disabled_at: float | None, *, now: float
    ) -> bool: ...


class AssertionReplayStore(Protocol):
    """Seen ``jti`` values of client assertions (RFC 7523 §3, private_key_jwt) and of
    DPoP proofs (RFC 9449 §11.1; keys in the ``dpop:`` namespace). Keys are at most 64
    characters."""

    async def use(self, key: str, *, expires_at: float, now: float) -> bool:
        """Atomically record ``key`` until ``expires_at``; True for exactly one caller
        while an unexpired record of it exists (a replay gets False)."""

    async def purge(self, *, now: float) -> int:
        """Forget expired entries."""


#: called with a notice's data, or with None after the subscription was (re)established:
#: notices may have been missed meanwhile, so the handler catches up from the store
NoticeHandler = Callable[[str | None], Awaitable[None]]


class Notices(Protocol):
    """Small notices fanned out to every process that shares the stores (Redis pub/sub):
    "revocation 42 was written", "the keys changed". Best effort and at most once: the
    store stays the source of truth, a notice only says "look now"."""

    @property
    def live(self) -> bool:
        """True while notices from other processes are being received; while False, a
        reader must look at the store itself (poll)."""

    async def publish(self, topic: str, data: str) -> None:
        """Send ``data`` to the handlers of ``topic`` in every process (this one too).
        Never raises for a backend that is down: the notice is dropped and logged."""

    def subscribe(self, topic: str, handler: NoticeHandler) -> None:
        """Call ``handler`` for every notice on ``topic`` from now on."""

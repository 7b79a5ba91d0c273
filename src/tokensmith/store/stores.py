"""The bundle of stores the issuer takes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from .protocols import (
    AssertionReplayStore,
    AuditStore,
    ClientStore,
    InviteStore,
    KeyStore,
    NoticeHandler,
    Notices,
    RateLimiter,
    RefreshTokenStore,
    RevocationStore,
    SessionStore,
    SetupTokenStore,
    UserStore,
)

__all__ = ["NoNotices", "Stores"]


async def _nothing() -> None:
    return None


class NoNotices:
    """Notices that reach no other process (one process, or processes sharing only the
    database): readers poll the store."""

    @property
    def live(self) -> bool:
        return False

    async def publish(self, topic: str, data: str) -> None:
        return None

    def subscribe(self, topic: str, handler: NoticeHandler) -> None:
        return None


@dataclass(frozen=True)
class Stores:
    """One of each store; ``close`` releases the backend (a connection pool)."""

    users: UserStore
    sessions: SessionStore
    refresh_tokens: RefreshTokenStore
    keys: KeyStore
    revocations: RevocationStore
    audit: AuditStore
    invites: InviteStore
    setup_tokens: SetupTokenStore
    rate_limiter: RateLimiter
    clients: ClientStore
    assertion_replays: AssertionReplayStore
    close: Callable[[], Awaitable[None]] = field(default=_nothing)
    #: cross-process fan-out of revocations and key changes (Redis pub/sub when configured)
    notices: Notices = field(default_factory=NoNotices)
    #: raises when a backend besides the database (Redis) does not answer (``/readyz``)
    ping: Callable[[], Awaitable[None]] = field(default=_nothing)
    #: a short description for logs and ``/readyz`` (never a password)
    description: str = "memory"

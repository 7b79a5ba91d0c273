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
    RateLimiter,
    RefreshTokenStore,
    RevocationStore,
    SessionStore,
    SetupTokenStore,
    UserStore,
)

__all__ = ["Stores"]


async def _nothing() -> None:
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
    #: a short description for logs and ``/readyz`` (never a password)
    description: str = "memory"

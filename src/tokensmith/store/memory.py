"""The memory backend: every store in process memory, for tests and throw-away runs.

Atomicity: each method body runs without an ``await`` between its read and its write, so
on one event loop it is atomic; nothing here is shared between processes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from .errors import DuplicateError
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
from .stores import Stores

__all__ = [
    "MemoryAssertionReplayStore",
    "MemoryAuditStore",
    "MemoryClientStore",
    "MemoryInviteStore",
    "MemoryKeyStore",
    "MemoryRateLimiter",
    "MemoryRefreshTokenStore",
    "MemoryRevocationStore",
    "MemorySessionStore",
    "MemorySetupTokenStore",
    "MemoryUserStore",
    "build_memory_stores",
]


class MemoryUserStore:
    def __init__(self) -> None:
        self._by_id: dict[str, UserRecord] = {}
        self._by_key: dict[str, str] = {}

    async def create(self, user: UserRecord) -> None:
        if user.id in self._by_id or user.username_key in self._by_key:
            raise DuplicateError(f"user {user.username!r} exists")
        self._by_id[user.id] = user
        self._by_key[user.username_key] = user.id

    async def get(self, user_id: str) -> UserRecord | None:
        return self._by_id.get(user_id)

    async def get_by_username(self, username_key: str) -> UserRecord | None:
        user_id = self._by_key.get(username_key)
        return None if user_id is None else self._by_id[user_id]

    def _update(self, user_id: str, **changes: object) -> bool:
        user = self._by_id.get(user_id)
        if user is None:
            return False
        self._by_id[user_id] = dataclasses.replace(user, **changes)  # type: ignore[arg-type]
        return True

    async def set_password(self, user_id: str, password_hash: str, *, now: float) -> bool:
        return self._update(user_id, password_hash=password_hash, updated_at=now)

    async def set_disabled(self, user_id: str, disabled_at: float | None, *, now: float) -> bool:
        return self._update(user_id, disabled_at=disabled_at, updated_at=now)

    async def set_roles(self, user_id: str, roles: Sequence[str], *, now: float) -> bool:
        return self._update(user_id, roles=tuple(roles), updated_at=now)

    async def list(
        self, *, limit: int = 100, offset: int = 0, search: str | None = None
    ) -> list[UserRecord]:
        users = sorted(self._by_id.values(), key=lambda u: (u.created_at, u.id))
        if search is not None:
            users = [u for u in users if search in u.username_key or u.id == search]
        return users[offset : offset + limit]

    async def count_with_role(self, role: str) -> int:
        return sum(1 for u in self._by_id.values() if role in u.roles)


class MemorySessionStore:
    def __init__(self, tokens: MemoryRefreshTokenStore, audit: MemoryAuditStore) -> None:
        self._sessions: dict[str, SessionRecord] = {}
        self._tokens = tokens
        self._audit = audit

    async def create(
        self,
        session: SessionRecord,
        *,
        first_token: RefreshTokenRecord | None = None,
        audit: AuditRecord | None = None,
    ) -> int | None:
        if session.id in self._sessions:
            raise DuplicateError(f"session {session.id!r} exists")
        if first_token is not None:
            await self._tokens.add(first_token)
        self._sessions[session.id] = session
        return None if audit is None else self._audit.append_now(audit)

    async def get(self, session_id: str) -> SessionRecord | None:
        return self._sessions.get(session_id)

    async def touch(self, session_id: str, *, now: float) -> None:
        self.touch_now(session_id, now)

    def touch_now(self, session_id: str, now: float) -> None:
        session = self._sessions.get(session_id)
        if session is not None:
            self._sessions[session_id] = dataclasses.replace(session, last_used_at=now)

    async def revoke(self, session_id: str, *, now: float, reason: str) -> bool:
        session = self._sessions.get(session_id)
        if session is None or session.revoked_at is not None:
            return False
        self._sessions[session_id] = dataclasses.replace(
            session, revoked_at=now, revoked_reason=reason
        )
        return True

    async def bind_dpop(self, session_id: str, jkt: str) -> str | None:
        session = self._sessions.get(session_id)
        if session is None:
            return None
        if session.dpop_jkt is None:
            session = dataclasses.replace(session, dpop_jkt=jkt)
            self._sessions[session_id] = session
        return session.dpop_jkt

    async def revoke_for_user(self, user_id: str, *, now: float, reason: str) -> list[str]:
        revoked = []
        for session in list(self._sessions.values()):
            if session.user_id == user_id and session.revoked_at is None:
                self._sessions[session.id] = dataclasses.replace(
                    session, revoked_at=now, revoked_reason=reason
                )
                revoked.append(session.id)
        return revoked

    async def list_for_user(self, user_id: str, *, now: float) -> list[SessionRecord]:
        found = [s for s in self._sessions.values() if s.user_id == user_id and s.active(now)]
        return sorted(found, key=lambda s: (s.created_at, s.id), reverse=True)

    async def purge(self, *, before: float) -> int:
        gone = {
            s.id
            for s in self._sessions.values()
            if s.expires_at < before or (s.revoked_at is not None and s.revoked_at < before)
        }
        for sid in gone:
            del self._sessions[sid]
        self._tokens.drop_sessions(gone)
        return len(gone)


class MemoryRefreshTokenStore:
    def __init__(self, users: MemoryUserStore, audit: MemoryAuditStore) -> None:
        self._tokens: dict[str, RefreshTokenRecord] = {}
        self._children: dict[str, str] = {}
        self._users = users
        self._audit = audit
        #: linked by build_memory_stores, so a winning consume marks the session used
        self.sessions: MemorySessionStore | None = None

    async def add(self, token: RefreshTokenRecord) -> None:
        if token.token_hash in self._tokens:
            raise DuplicateError("refresh token exists")
        self._tokens[token.token_hash] = token
        if token.parent_hash is not None:
            self._children[token.parent_hash] = token.token_hash

    async def get(self, token_hash: str) -> RefreshTokenRecord | None:
        return self._tokens.get(token_hash)

    async def get_with_owner(self, token_hash: str) -> RefreshTokenWithOwner | None:
        token = self._tokens.get(token_hash)
        if token is None:
            return None
        session = None if self.sessions is None else await self.sessions.get(token.session_id)
        return RefreshTokenWithOwner(
            token=token, session=session, user=await self._users.get(token.user_id)
        )

    def _child_of(self, token_hash: str) -> RefreshTokenRecord | None:
        child_hash = self._children.get(token_hash)
        return None if child_hash is None else self._tokens.get(child_hash)

    async def consume(
        self,
        token_hash: str,
        now: float,
        *,
        child: RefreshTokenRecord | None = None,
        audit: AuditRecord | None = None,
    ) -> ConsumeResult:
        token = self._tokens.get(token_hash)
        if token is None:
            return ConsumeResult(won=False, token=None)
        if token.consumed_at is not None:
            return ConsumeResult(won=False, token=token, child=self._child_of(token_hash))
        consumed = dataclasses.replace(token, consumed_at=now)
        if child is not None and child.token_hash in self._tokens:
            raise DuplicateError("child refresh token exists")
        self._tokens[token_hash] = consumed
        if child is not None:
            self._tokens[child.token_hash] = child
            self._children[token_hash] = child.token_hash
            if self.sessions is not None:
                self.sessions.touch_now(child.session_id, now)
        audit_id = None if audit is None else self._audit.append_now(audit)
        return ConsumeResult(won=True, token=consumed, child=child, audit_id=audit_id)

    def drop_sessions(self, session_ids: set[str]) -> None:
        for token_hash, token in list(self._tokens.items()):
            if token.session_id in session_ids:
                del self._tokens[token_hash]
                self._children.pop(token_hash, None)


_SINGLE_HOLDER = ("next", "current")


class MemoryKeyStore:
    def __init__(self) -> None:
        self._keys: dict[str, KeyRecord] = {}

    async def add(self, key: KeyRecord) -> bool:
        if key.kid in self._keys:
            return False
        if key.state in _SINGLE_HOLDER and any(
            k.state == key.state and k.alg == key.alg for k in self._keys.values()
        ):
            return False
        self._keys[key.kid] = key
        return True

    async def list(self) -> list[KeyRecord]:
        return sorted(self._keys.values(), key=lambda k: (k.created_at, k.kid))

    async def get(self, kid: str) -> KeyRecord | None:
        return self._keys.get(kid)

    async def promote(
        self, *, next_kid: str, current_kid: str | None, now: float, publish_until: float
    ) -> bool:
        nxt = self._keys.get(next_kid)
        if nxt is None or nxt.state != "next":
            return False
        current = None
        if current_kid is not None:
            current = self._keys.get(current_kid)
            if current is None or current.state != "current":
                return False
        if any(
            k.state == "current" and k.alg == nxt.alg and k.kid != current_kid
            for k in self._keys.values()
        ):
            return False
        lanes = {nxt.alg} if current is None else {nxt.alg, current.alg}
        for key in list(self._keys.values()):
            if key.state == "previous" and key.alg in lanes:
                self._keys[key.kid] = dataclasses.replace(key, state="retired", retired_at=now)
        if current is not None:
            self._keys[current.kid] = dataclasses.replace(
                current, state="previous", deactivated_at=now, publish_until=publish_until
            )
        self._keys[nxt.kid] = dataclasses.replace(nxt, state="current", activated_at=now)
        return True

    async def retire(self, kid: str, *, now: float, publish_until: float) -> bool:
        key = self._keys.get(kid)
        if key is None or key.state not in ("next", "previous"):
            return False
        until = (
            publish_until if key.publish_until is None else min(key.publish_until, publish_until)
        )
        self._keys[kid] = dataclasses.replace(
            key, state="retired", retired_at=now, publish_until=until
        )
        return True

    async def demote(self, kid: str, *, now: float, publish_until: float) -> bool:
        key = self._keys.get(kid)
        if key is None or key.state != "current":
            return False
        self._keys[kid] = dataclasses.replace(
            key, state="previous", deactivated_at=now, publish_until=publish_until
        )
        return True

    async def forget_private(self, kid: str) -> bool:
        key = self._keys.get(kid)
        if key is None or key.state not in ("previous", "retired"):
            return False
        self._keys[kid] = dataclasses.replace(key, private_jwk=b"")
        return True


class MemoryRevocationStore:
    def __init__(self) -> None:
        self._entries: dict[int, RevocationRecord] = {}
        self._last_id = 0

    async def add(
        self,
        kind: RevocationKind,
        value: str,
        *,
        now: float,
        expires_at: float,
        not_before: float | None = None,
    ) -> RevocationRecord:
        self._last_id += 1
        record = RevocationRecord(
            id=self._last_id,
            kind=kind,
            value=value,
            created_at=now,
            expires_at=expires_at,
            not_before=not_before,
        )
        self._entries[record.id] = record
        return record

    async def after(
        self, after_id: int | None, *, now: float, limit: int = 500
    ) -> list[RevocationRecord]:
        start = after_id or 0
        found = [r for i, r in sorted(self._entries.items()) if i > start and r.expires_at > now]
        return found[:limit]

    async def last_id(self) -> int:
        return self._last_id

    async def purge(self, *, now: float) -> int:
        gone = [i for i, r in self._entries.items() if r.expires_at <= now]
        for i in gone:
            del self._entries[i]
        return len(gone)


class MemoryAuditStore:
    def __init__(self) -> None:
        self._records: list[AuditRecord] = []

    async def append(self, record: AuditRecord) -> int:
        return self.append_now(record)

    def append_now(self, record: AuditRecord) -> int:
        new_id = len(self._records) + 1
        self._records.append(dataclasses.replace(record, id=new_id))
        return new_id

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
        found = [
            r
            for r in reversed(self._records)
            if (user_id is None or r.user_id == user_id)
            and (kind is None or r.kind == kind)
            and (before_id is None or (r.id is not None and r.id < before_id))
            and (since is None or r.at >= since)
            and (until is None or r.at < until)
        ]
        return found[:limit]


class MemoryInviteStore:
    def __init__(self) -> None:
        self._invites: dict[str, InviteRecord] = {}

    async def add(self, invite: InviteRecord) -> None:
        if invite.code_hash in self._invites:
            raise DuplicateError("invite exists")
        self._invites[invite.code_hash] = invite

    async def redeem(self, code_hash: str, *, now: float, used_by: str) -> bool:
        invite = self._invites.get(code_hash)
        if invite is None or invite.used_at is not None or invite.expires_at <= now:
            return False
        self._invites[code_hash] = dataclasses.replace(invite, used_at=now, used_by=used_by)
        return True


class MemorySetupTokenStore:
    def __init__(self) -> None:
        self._token: tuple[str, float] | None = None

    async def put(self, token_hash: str, *, now: float, expires_at: float) -> None:
        self._token = (token_hash, expires_at)

    async def redeem(self, token_hash: str, *, now: float) -> bool:
        token = self._token
        if token is None or token[0] != token_hash or token[1] <= now:
            return False
        self._token = None
        return True

    async def exists(self, *, now: float) -> bool:
        return self._token is not None and self._token[1] > now


@dataclass
class _Counter:
    failures: int
    window_start: float
    blocked_until: float = 0.0


class MemoryRateLimiter:
    """Failure counters per key, in memory (one process). Bounded: entries whose window
    and block are both over are dropped when the table grows past ``max_keys``."""

    def __init__(self, *, max_keys: int = 100_000) -> None:
        self._counters: dict[str, _Counter] = {}
        self._max_keys = max_keys
        self._windows: dict[str, float] = {}

    async def blocked_for(self, key: str, *, now: float) -> float:
        counter = self._counters.get(key)
        if counter is None:
            return 0.0
        return max(0.0, counter.blocked_until - now)

    async def failure(
        self,
        key: str,
        *,
        now: float,
        limit: int,
        window: float,
        backoff: float,
        max_backoff: float,
    ) -> float:
        counter = self._counters.get(key)
        if counter is None or (
            now - counter.window_start > window and counter.blocked_until <= now
        ):
            if counter is None and len(self._counters) >= self._max_keys:
                self._evict(now)
            counter = _Counter(failures=0, window_start=now)
            self._counters[key] = counter
            self._windows[key] = window
        counter.failures += 1
        if counter.failures >= limit:
            exponent = min(counter.failures - limit, 30)
            block = min(max_backoff, backoff * (2**exponent))
            counter.blocked_until = max(counter.blocked_until, now + block)
            # a blocked key's window restarts, so back-off keeps growing while it is hammered
            counter.window_start = now
        return max(0.0, counter.blocked_until - now)

    async def reset(self, key: str) -> None:
        self._counters.pop(key, None)
        self._windows.pop(key, None)

    def _evict(self, now: float) -> None:
        for key, counter in list(self._counters.items()):
            if counter.blocked_until <= now and now - counter.window_start > self._windows[key]:
                del self._counters[key]
                del self._windows[key]


class MemoryClientStore:
    def __init__(self) -> None:
        self._clients: dict[str, ClientRecord] = {}

    async def create(self, client: ClientRecord) -> None:
        if client.client_id in self._clients:
            raise DuplicateError("client exists")
        self._clients[client.client_id] = client

    async def get(self, client_id: str) -> ClientRecord | None:
        return self._clients.get(client_id)

    async def list(self, *, limit: int = 100, offset: int = 0) -> list[ClientRecord]:
        ordered = sorted(self._clients.values(), key=lambda c: (c.created_at, c.client_id))
        return ordered[offset : offset + limit]

    async def set_secret(self, client_id: str, secret_hash: str, *, now: float) -> bool:
        client = self._clients.get(client_id)
        if client is None:
            return False
        self._clients[client_id] = dataclasses.replace(
            client, secret_hash=secret_hash, updated_at=now
        )
        return True

    async def set_disabled(self, client_id: str, disabled_at: float | None, *, now: float) -> bool:
        client = self._clients.get(client_id)
        if client is None:
            return False
        self._clients[client_id] = dataclasses.replace(
            client, disabled_at=disabled_at, updated_at=now
        )
        return True


class MemoryAssertionReplayStore:
    def __init__(self) -> None:
        self._seen: dict[str, float] = {}

    async def use(self, key: str, *, expires_at: float, now: float) -> bool:
        if self._seen.get(key, 0.0) > now:
            return False
        self._seen[key] = expires_at
        return True

    async def purge(self, *, now: float) -> int:
        expired = [k for k, v in self._seen.items() if v <= now]
        for key in expired:
            del self._seen[key]
        return len(expired)


def build_memory_stores() -> Stores:
    users = MemoryUserStore()
    audit = MemoryAuditStore()
    tokens = MemoryRefreshTokenStore(users, audit)
    sessions = MemorySessionStore(tokens, audit)
    tokens.sessions = sessions
    return Stores(
        users=users,
        sessions=sessions,
        refresh_tokens=tokens,
        keys=MemoryKeyStore(),
        revocations=MemoryRevocationStore(),
        audit=audit,
        invites=MemoryInviteStore(),
        setup_tokens=MemorySetupTokenStore(),
        rate_limiter=MemoryRateLimiter(),
        clients=MemoryClientStore(),
        assertion_replays=MemoryAssertionReplayStore(),
        description="memory",
    )

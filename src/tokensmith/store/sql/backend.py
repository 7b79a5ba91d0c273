"""The SQL backend (SQLAlchemy 2 Core): one implementation for SQLite and PostgreSQL.

Every operation is one synchronous function of a ``Connection`` handed to a
:class:`~tokensmith.store.sql.runner.Runner` (a worker thread for SQLite, asyncpg for
PostgreSQL), so one operation is one trip, whatever the number of statements in it.

Decisions under concurrency are single conditional statements checked by ``rowcount``
or by the row an ``UPDATE ... RETURNING`` gives back (never read-then-write): consuming a
refresh token, redeeming an invite or the setup token, promoting keys. Revocation ids
are allocated under a transaction-scoped advisory lock on PostgreSQL so that they become
visible in id order (the feed resumes by id); SQLite has one writer at a time anyway.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import fields
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..errors import DuplicateError
from ..records import (
    AuditRecord,
    ConsumeResult,
    InviteRecord,
    RefreshTokenRecord,
    RefreshTokenWithOwner,
    RevocationKind,
    RevocationRecord,
    SessionRecord,
    UserRecord,
)
from .prepared import Prepared
from .runner import Runner
from .schema import (
    audit_events,
    invites,
    refresh_tokens,
    revocations,
    sessions,
    setup_tokens,
    users,
)

__all__ = [
    "SqlAuditStore",
    "SqlInviteStore",
    "SqlRefreshTokenStore",
    "SqlRevocationStore",
    "SqlSessionStore",
    "SqlSetupTokenStore",
    "SqlUserStore",
]

_REVOCATION_LOCK = 0x7265766F6B  # "revok"


class _Sql:
    def __init__(self, runner: Runner) -> None:
        self._db = runner
        self.postgres = runner.dialect == "postgresql"


def _inserted_id(result: Any) -> int:
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


R = TypeVar("R")

# The hot paths (login, refresh, audit) execute statements built once, with bound
# parameters: building a SQLAlchemy statement costs far more than executing a built one
# (its compiled form is cached by the engine), about 100 µs against 25 µs per query here;
# the Prepared ones (prepared.py) skip SQLAlchemy's per-execution work on SQLite too.
# (UPDATE parameters are named b_*: SQLAlchemy reserves column names for SET values.)
_p = sa.bindparam
_USER_BY_ID = Prepared(users.select().where(users.c.id == _p("id")))
_USER_BY_USERNAME = Prepared(users.select().where(users.c.username_key == _p("username_key")))
_SESSION_BY_ID = sessions.select().where(sessions.c.id == _p("id"))
_TOUCH_SESSION = Prepared(
    sessions.update().where(sessions.c.id == _p("b_id")).values(last_used_at=_p("b_now"))
)
_TOKEN_BY_HASH = refresh_tokens.select().where(refresh_tokens.c.token_hash == _p("token_hash"))
_FIRST_CHILD = (
    refresh_tokens.select()
    .where(refresh_tokens.c.parent_hash == _p("token_hash"))
    .order_by(refresh_tokens.c.issued_at)
    .limit(1)
)
_CONSUME = Prepared(
    refresh_tokens.update()
    .where(refresh_tokens.c.token_hash == _p("b_hash"), refresh_tokens.c.consumed_at.is_(None))
    .values(consumed_at=_p("b_now"))
    .returning(*refresh_tokens.c)
)
_INSERT_TOKEN = Prepared(refresh_tokens.insert())
_INSERT_SESSION = Prepared(sessions.insert())
_INSERT_AUDIT = Prepared(audit_events.insert())
# a refresh reads its token, the token's session and its user in one statement
_TOKEN_WITH_OWNER = Prepared(
    sa.select(*refresh_tokens.c, *sessions.c, *users.c)
    .select_from(
        refresh_tokens.outerjoin(sessions, sessions.c.id == refresh_tokens.c.session_id).outerjoin(
            users, users.c.id == refresh_tokens.c.user_id
        )
    )
    .where(refresh_tokens.c.token_hash == _p("token_hash"))
)
_TOKEN_COLUMNS = tuple(c.name for c in refresh_tokens.c)
_SESSION_COLUMNS = tuple(c.name for c in sessions.c)
_USER_COLUMNS = tuple(c.name for c in users.c)


def _values(record: Any) -> dict[str, Any]:
    """A record's fields as column values (records whose fields are their table's columns)."""
    return {f.name: getattr(record, f.name) for f in fields(record)}


def _record(cls: type[R], row: Any) -> R:
    """The record ``cls`` from a row holding (at least) a column per field."""
    return _record_of(cls, row._mapping)


def _record_of(cls: type[R], mapping: Mapping[str, Any]) -> R:
    return cls(**{f.name: mapping[f.name] for f in fields(cls)})  # type: ignore[arg-type]


def _roles_out(value: str) -> tuple[str, ...]:
    return tuple(r for r in value.split(" ") if r)


def _user(row: Any) -> UserRecord:
    return _user_of(row._mapping)


def _user_of(m: Mapping[str, Any]) -> UserRecord:
    return UserRecord(
        id=m["id"],
        username=m["username"],
        username_key=m["username_key"],
        password_hash=m["password_hash"],
        created_at=m["created_at"],
        updated_at=m["updated_at"],
        roles=_roles_out(m["roles"]),
        disabled_at=m["disabled_at"],
    )


class SqlUserStore(_Sql):
    async def create(self, user: UserRecord) -> None:
        def run(conn: Connection) -> None:
            conn.execute(
                users.insert().values(
                    id=user.id,
                    username=user.username,
                    username_key=user.username_key,
                    password_hash=user.password_hash,
                    roles=" ".join(user.roles),
                    created_at=user.created_at,
                    updated_at=user.updated_at,
                    disabled_at=user.disabled_at,
                )
            )

        try:
            await self._db.write(run)
        except IntegrityError as exc:
            raise DuplicateError(f"user {user.username!r} exists") from exc

    async def _one(self, query: Prepared, params: dict[str, Any]) -> UserRecord | None:
        def run(conn: Connection) -> UserRecord | None:
            found = query.first_mapping(conn, params)
            return None if found is None else _user_of(found)

        return await self._db.lookup(run)

    async def get(self, user_id: str) -> UserRecord | None:
        return await self._one(_USER_BY_ID, {"id": user_id})

    async def get_by_username(self, username_key: str) -> UserRecord | None:
        return await self._one(_USER_BY_USERNAME, {"username_key": username_key})

    async def _update(self, user_id: str, **values: Any) -> bool:
        def run(conn: Connection) -> bool:
            query = users.update().where(users.c.id == user_id).values(**values)
            return conn.execute(query).rowcount == 1

        return await self._db.write(run)

    async def set_password(self, user_id: str, password_hash: str, *, now: float) -> bool:
        return await self._update(user_id, password_hash=password_hash, updated_at=now)

    async def set_disabled(self, user_id: str, disabled_at: float | None, *, now: float) -> bool:
        return await self._update(user_id, disabled_at=disabled_at, updated_at=now)

    async def set_roles(self, user_id: str, roles: Sequence[str], *, now: float) -> bool:
        return await self._update(user_id, roles=" ".join(roles), updated_at=now)

    async def list(
        self, *, limit: int = 100, offset: int = 0, search: str | None = None
    ) -> list[UserRecord]:
        query = users.select().order_by(users.c.created_at, users.c.id).limit(limit).offset(offset)
        if search is not None:
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            query = query.where(
                sa.or_(users.c.username_key.like(f"%{escaped}%", escape="\\"), users.c.id == search)
            )

        def run(conn: Connection) -> list[UserRecord]:
            return [_user(row) for row in conn.execute(query)]

        return await self._db.read(run)

    async def count_with_role(self, role: str) -> int:
        # roles are stored space-separated; match whole words
        padded = sa.literal(" ") + users.c.roles + sa.literal(" ")
        query = sa.select(sa.func.count()).where(padded.like(f"% {role} %"))

        def run(conn: Connection) -> int:
            return int(conn.execute(query).scalar_one())

        return await self._db.read(run)


def _session(row: Any) -> SessionRecord:
    return _session_of(row._mapping)


def _session_of(m: Mapping[str, Any]) -> SessionRecord:
    return SessionRecord(
        id=m["id"],
        user_id=m["user_id"],
        client_id=m["client_id"],
        scope=m["scope"],
        created_at=m["created_at"],
        last_used_at=m["last_used_at"],
        expires_at=m["expires_at"],
        ip=m["ip"],
        user_agent=m["user_agent"],
        revoked_at=m["revoked_at"],
        revoked_reason=m["revoked_reason"],
        dpop_jkt=m["dpop_jkt"],
    )


class SqlSessionStore(_Sql):
    async def create(
        self,
        session: SessionRecord,
        *,
        first_token: RefreshTokenRecord | None = None,
        audit: AuditRecord | None = None,
    ) -> int | None:
        audit_values = None if audit is None else _audit_values(audit)

        def run(conn: Connection) -> int | None:
            _INSERT_SESSION.run(conn, _values(session))
            if first_token is not None:
                _INSERT_TOKEN.run(conn, _values(first_token))
            if audit_values is None:
                return None
            return _INSERT_AUDIT.inserted_id(conn, audit_values)

        try:
            return await self._db.write(run)
        except IntegrityError as exc:
            raise DuplicateError(f"session {session.id!r} exists or its user does not") from exc

    async def get(self, session_id: str) -> SessionRecord | None:
        def run(conn: Connection) -> SessionRecord | None:
            row = conn.execute(_SESSION_BY_ID, {"id": session_id}).first()
            return None if row is None else _session(row)

        return await self._db.lookup(run)

    async def touch(self, session_id: str, *, now: float) -> None:
        def run(conn: Connection) -> None:
            _TOUCH_SESSION.run(conn, {"b_id": session_id, "b_now": now})

        await self._db.write(run)

    async def revoke(self, session_id: str, *, now: float, reason: str) -> bool:
        def run(conn: Connection) -> bool:
            result = conn.execute(
                sessions.update()
                .where(sessions.c.id == session_id, sessions.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_reason=reason)
            )
            return result.rowcount == 1

        return await self._db.write(run)

    async def bind_dpop(self, session_id: str, jkt: str) -> str | None:
        def run(conn: Connection) -> str | None:
            # set only while unbound: of concurrent binders the first wins, the others
            # read its thumbprint back in the same transaction
            conn.execute(
                sessions.update()
                .where(sessions.c.id == session_id, sessions.c.dpop_jkt.is_(None))
                .values(dpop_jkt=jkt)
            )
            row = conn.execute(
                sa.select(sessions.c.dpop_jkt).where(sessions.c.id == session_id)
            ).first()
            return None if row is None else row.dpop_jkt

        return await self._db.write(run)

    async def revoke_for_user(self, user_id: str, *, now: float, reason: str) -> list[str]:
        def run(conn: Connection) -> list[str]:
            result = conn.execute(
                sessions.update()
                .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
                .values(revoked_at=now, revoked_reason=reason)
                .returning(sessions.c.id)
            )
            return [row.id for row in result]

        return await self._db.write(run)

    async def list_for_user(self, user_id: str, *, now: float) -> list[SessionRecord]:
        query = (
            sessions.select()
            .where(
                sessions.c.user_id == user_id,
                sessions.c.revoked_at.is_(None),
                sessions.c.expires_at > now,
            )
            .order_by(sessions.c.created_at.desc(), sessions.c.id.desc())
        )

        def run(conn: Connection) -> list[SessionRecord]:
            return [_session(row) for row in conn.execute(query)]

        return await self._db.read(run)

    async def purge(self, *, before: float) -> int:
        ended = sa.or_(
            sessions.c.expires_at < before,
            sa.and_(sessions.c.revoked_at.is_not(None), sessions.c.revoked_at < before),
        )

        def run(conn: Connection) -> int:
            gone = sa.select(sessions.c.id).where(ended).scalar_subquery()
            conn.execute(refresh_tokens.delete().where(refresh_tokens.c.session_id.in_(gone)))
            return int(conn.execute(sessions.delete().where(ended)).rowcount)

        return await self._db.write(run)


def _token(row: Any) -> RefreshTokenRecord:
    return _record(RefreshTokenRecord, row)


def _token_with_owner(values: Sequence[Any]) -> RefreshTokenWithOwner:
    n_token, n_session = len(_TOKEN_COLUMNS), len(_SESSION_COLUMNS)
    token = dict(zip(_TOKEN_COLUMNS, values[:n_token], strict=True))
    session = dict(zip(_SESSION_COLUMNS, values[n_token : n_token + n_session], strict=True))
    user = dict(zip(_USER_COLUMNS, values[n_token + n_session :], strict=True))
    return RefreshTokenWithOwner(
        token=_record_of(RefreshTokenRecord, token),
        # outer joins: a session or user that is gone comes back as NULLs
        session=None if session["id"] is None else _session_of(session),
        user=None if user["id"] is None else _user_of(user),
    )


def _get_token(conn: Connection, token_hash: str) -> RefreshTokenRecord | None:
    row = conn.execute(_TOKEN_BY_HASH, {"token_hash": token_hash}).first()
    return None if row is None else _token(row)


def _child_token(conn: Connection, token_hash: str) -> RefreshTokenRecord | None:
    row = conn.execute(_FIRST_CHILD, {"token_hash": token_hash}).first()
    return None if row is None else _token(row)


class SqlRefreshTokenStore(_Sql):
    async def add(self, token: RefreshTokenRecord) -> None:
        def run(conn: Connection) -> None:
            _INSERT_TOKEN.run(conn, _values(token))

        try:
            await self._db.write(run)
        except IntegrityError as exc:
            raise DuplicateError("refresh token exists or its session does not") from exc

    async def get(self, token_hash: str) -> RefreshTokenRecord | None:
        return await self._db.lookup(lambda conn: _get_token(conn, token_hash))

    async def get_with_owner(self, token_hash: str) -> RefreshTokenWithOwner | None:
        def run(conn: Connection) -> RefreshTokenWithOwner | None:
            row = _TOKEN_WITH_OWNER.first(conn, {"token_hash": token_hash})
            return None if row is None else _token_with_owner(row)

        return await self._db.lookup(run)

    async def consume(
        self,
        token_hash: str,
        now: float,
        *,
        child: RefreshTokenRecord | None = None,
        audit: AuditRecord | None = None,
    ) -> ConsumeResult:
        audit_values = None if audit is None else _audit_values(audit)

        def run(conn: Connection) -> ConsumeResult:
            # the one decision: a conditional UPDATE ... RETURNING; row locks (PostgreSQL)
            # or the single writer (SQLite) make exactly one caller get the row back
            won = _CONSUME.first_mapping(conn, {"b_hash": token_hash, "b_now": now})
            if won is not None:
                if child is not None:
                    _INSERT_TOKEN.run(conn, _values(child))
                    _TOUCH_SESSION.run(conn, {"b_id": child.session_id, "b_now": now})
                audit_id = None
                if audit_values is not None:
                    audit_id = _INSERT_AUDIT.inserted_id(conn, audit_values)
                return ConsumeResult(
                    won=True,
                    token=_record_of(RefreshTokenRecord, won),
                    child=child,
                    audit_id=audit_id,
                )
            token = _get_token(conn, token_hash)
            if token is None:
                return ConsumeResult(won=False, token=None)
            return ConsumeResult(won=False, token=token, child=_child_token(conn, token_hash))

        return await self._db.write(run)


def _revocation(row: Any) -> RevocationRecord:
    return _record(RevocationRecord, row)


class SqlRevocationStore(_Sql):
    async def add(
        self,
        kind: RevocationKind,
        value: str,
        *,
        now: float,
        expires_at: float,
        not_before: float | None = None,
    ) -> RevocationRecord:
        def run(conn: Connection) -> int:
            if self.postgres:
                # ids become visible in id order: a feed that resumes after id N never
                # misses an N-1 committed later
                conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _REVOCATION_LOCK})
            result = conn.execute(
                revocations.insert().values(
                    kind=kind,
                    value=value,
                    created_at=now,
                    expires_at=expires_at,
                    not_before=not_before,
                )
            )
            return _inserted_id(result)

        new_id = await self._db.write(run)
        return RevocationRecord(
            id=new_id,
            kind=kind,
            value=value,
            created_at=now,
            expires_at=expires_at,
            not_before=not_before,
        )

    async def after(
        self, after_id: int | None, *, now: float, limit: int = 500
    ) -> list[RevocationRecord]:
        query = (
            revocations.select()
            .where(revocations.c.id > (after_id or 0), revocations.c.expires_at > now)
            .order_by(revocations.c.id)
            .limit(limit)
        )

        def run(conn: Connection) -> list[RevocationRecord]:
            return [_revocation(row) for row in conn.execute(query)]

        return await self._db.read(run)

    async def last_id(self) -> int:
        if self.postgres:
            # the sequence survives purges, so ids are never reused
            query = sa.text(
                "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM revocations_id_seq"
            )
        else:
            query = sa.text("SELECT seq FROM sqlite_sequence WHERE name = 'revocations'")

        def run(conn: Connection) -> int:
            return int(conn.execute(query).scalar() or 0)

        return await self._db.read(run)

    async def purge(self, *, now: float) -> int:
        def run(conn: Connection) -> int:
            result = conn.execute(revocations.delete().where(revocations.c.expires_at <= now))
            return int(result.rowcount)

        return await self._db.write(run)


def _audit(row: Any) -> AuditRecord:
    return AuditRecord(
        id=int(row.id),
        kind=row.kind,
        at=row.at,
        user_id=row.user_id,
        username=row.username,
        session_id=row.session_id,
        ip=row.ip,
        user_agent=row.user_agent,
        details=json.loads(row.details),
    )


def _audit_values(record: AuditRecord) -> dict[str, Any]:
    return {
        "kind": record.kind,
        "at": record.at,
        "user_id": record.user_id,
        "username": record.username,
        "session_id": record.session_id,
        "ip": record.ip,
        "user_agent": record.user_agent,
        "details": json.dumps(record.details, sort_keys=True, default=str),
    }


class SqlAuditStore(_Sql):
    async def append(self, record: AuditRecord) -> int:
        values = _audit_values(record)

        def run(conn: Connection) -> int:
            return _INSERT_AUDIT.inserted_id(conn, values)

        return await self._db.write(run)

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
        query = audit_events.select().order_by(audit_events.c.id.desc()).limit(limit)
        if user_id is not None:
            query = query.where(audit_events.c.user_id == user_id)
        if kind is not None:
            query = query.where(audit_events.c.kind == kind)
        if before_id is not None:
            query = query.where(audit_events.c.id < before_id)
        if since is not None:
            query = query.where(audit_events.c.at >= since)
        if until is not None:
            query = query.where(audit_events.c.at < until)

        def run(conn: Connection) -> list[AuditRecord]:
            return [_audit(row) for row in conn.execute(query)]

        return await self._db.read(run)


class SqlInviteStore(_Sql):
    async def add(self, invite: InviteRecord) -> None:
        def run(conn: Connection) -> None:
            conn.execute(invites.insert().values(**_values(invite)))

        try:
            await self._db.write(run)
        except IntegrityError as exc:
            raise DuplicateError("invite exists") from exc

    async def redeem(self, code_hash: str, *, now: float, used_by: str) -> bool:
        def run(conn: Connection) -> bool:
            result = conn.execute(
                invites.update()
                .where(
                    invites.c.code_hash == code_hash,
                    invites.c.used_at.is_(None),
                    invites.c.expires_at > now,
                )
                .values(used_at=now, used_by=used_by)
            )
            return result.rowcount == 1

        return await self._db.write(run)


class SqlSetupTokenStore(_Sql):
    async def put(self, token_hash: str, *, now: float, expires_at: float) -> None:
        def run(conn: Connection) -> None:
            conn.execute(setup_tokens.delete())
            conn.execute(
                setup_tokens.insert().values(
                    token_hash=token_hash, created_at=now, expires_at=expires_at
                )
            )

        await self._db.write(run)

    async def redeem(self, token_hash: str, *, now: float) -> bool:
        def run(conn: Connection) -> bool:
            result = conn.execute(
                setup_tokens.delete().where(
                    setup_tokens.c.token_hash == token_hash, setup_tokens.c.expires_at > now
                )
            )
            return result.rowcount == 1

        return await self._db.write(run)

    async def exists(self, *, now: float) -> bool:
        query = sa.select(sa.func.count()).where(setup_tokens.c.expires_at > now)

        def run(conn: Connection) -> bool:
            return bool(conn.execute(query).scalar_one())

        return await self._db.read(run)

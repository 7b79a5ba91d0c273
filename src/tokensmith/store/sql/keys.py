"""The SQL store of signing keys: one lifecycle (next → current → previous → retired)
per algorithm.

Schema 0001 allows one ``next`` and one ``current`` row in the whole table (a partial
unique index on ``state``). Until a migration makes that index per ``(alg, state)``
(notes/requests-clients-alg.md), a single-holder row is written with its algorithm in
the state column (``next:EdDSA``, ``current:ES256``), which that index does not cover,
and "one per algorithm" is decided by one conditional ``INSERT ... WHERE NOT EXISTS``
(atomic on SQLite, the single writer; under a transaction-scoped advisory lock on
PostgreSQL). Rows written before (plain ``next``/``current``) read the same.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..records import KeyRecord
from .backend import _record, _Sql, _values
from .schema import signing_keys

__all__ = ["SqlKeyStore"]

#: pg_advisory_xact_lock key serialising key inserts of several processes
_KEY_LOCK = 0x6B657973  # "keys"
_SINGLE_HOLDER = ("next", "current")


class _Conflict(Exception):
    pass


def _stored_state(state: str, alg: str) -> str:
    return f"{state}:{alg}" if state in _SINGLE_HOLDER else state


def _in_state(state: str, alg: str | None = None) -> Any:
    """A WHERE clause for keys in ``state`` (of ``alg`` if given), either spelling."""
    keys = signing_keys.c
    if state not in _SINGLE_HOLDER:
        clause = keys.state == state
    elif alg is None:
        clause = sa.or_(keys.state == state, keys.state.startswith(f"{state}:", autoescape=True))
    else:
        clause = sa.and_(keys.alg == alg, keys.state.in_((state, _stored_state(state, alg))))
    return clause


def _key(row: Any) -> KeyRecord:
    key = _record(KeyRecord, row)
    state: Any = key.state.split(":", 1)[0]
    # a driver may hand binary columns back as memoryview
    return replace(key, state=state, private_jwk=bytes(key.private_jwk))


class SqlKeyStore(_Sql):
    def _lock(self, conn: Connection) -> None:
        if self.postgres:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _KEY_LOCK})

    async def add(self, key: KeyRecord) -> bool:
        values = _values(key)
        values["state"] = _stored_state(key.state, key.alg)

        def run(conn: Connection) -> bool:
            if key.state not in _SINGLE_HOLDER:
                conn.execute(signing_keys.insert().values(**values))
                return True
            self._lock(conn)
            taken = sa.select(signing_keys.c.kid).where(_in_state(key.state, key.alg)).exists()
            columns = list(values)
            source = sa.select(
                *(sa.literal(values[c], signing_keys.c[c].type) for c in columns)
            ).where(~taken)
            result = conn.execute(signing_keys.insert().from_select(columns, source))
            return bool(result.rowcount == 1)

        try:
            return await self._db.write(run)
        except IntegrityError:
            return False

    async def list(self) -> list[KeyRecord]:
        query = signing_keys.select().order_by(signing_keys.c.created_at, signing_keys.c.kid)

        def run(conn: Connection) -> list[KeyRecord]:
            return [_key(row) for row in conn.execute(query)]

        return await self._db.read(run)

    async def get(self, kid: str) -> KeyRecord | None:
        def run(conn: Connection) -> KeyRecord | None:
            row = conn.execute(signing_keys.select().where(signing_keys.c.kid == kid)).first()
            return None if row is None else _key(row)

        return await self._db.read(run)

    async def promote(
        self, *, next_kid: str, current_kid: str | None, now: float, publish_until: float
    ) -> bool:
        keys = signing_keys.c

        def run(conn: Connection) -> None:
            self._lock(conn)
            row = conn.execute(
                sa.select(keys.alg).where(keys.kid == next_kid, _in_state("next"))
            ).first()
            if row is None:
                raise _Conflict
            alg = str(row.alg)
            lanes = {alg}
            if current_kid is not None:
                demoted = conn.execute(
                    signing_keys.update()
                    .where(keys.kid == current_kid, _in_state("current"))
                    .values(state="previous", deactivated_at=now, publish_until=publish_until)
                    .returning(keys.alg)
                ).first()
                if demoted is None:
                    raise _Conflict
                lanes.add(str(demoted.alg))
            count = sa.select(sa.func.count()).where(_in_state("current", alg))
            if conn.execute(count).scalar_one():
                raise _Conflict
            older = sa.and_(keys.state == "previous", keys.alg.in_(sorted(lanes)))
            if current_kid is not None:
                older = sa.and_(older, keys.kid != current_kid)
            conn.execute(signing_keys.update().where(older).values(state="retired", retired_at=now))
            conn.execute(
                signing_keys.update()
                .where(keys.kid == next_kid)
                .values(state=_stored_state("current", alg), activated_at=now)
            )

        try:
            await self._db.write(run)
        except (_Conflict, IntegrityError):
            return False
        return True

    async def demote(self, kid: str, *, now: float, publish_until: float) -> bool:
        keys = signing_keys.c

        def run(conn: Connection) -> bool:
            result = conn.execute(
                signing_keys.update()
                .where(keys.kid == kid, _in_state("current"))
                .values(state="previous", deactivated_at=now, publish_until=publish_until)
            )
            return bool(result.rowcount == 1)

        return await self._db.write(run)

    async def retire(self, kid: str, *, now: float, publish_until: float) -> bool:
        keys = signing_keys.c
        earlier = (
            sa.func.least(keys.publish_until, publish_until)
            if self.postgres
            else sa.func.min(keys.publish_until, publish_until)
        )
        until = sa.case((keys.publish_until.is_(None), publish_until), else_=earlier)

        def run(conn: Connection) -> bool:
            result = conn.execute(
                signing_keys.update()
                .where(keys.kid == kid, sa.or_(_in_state("next"), _in_state("previous")))
                .values(state="retired", retired_at=now, publish_until=until)
            )
            return bool(result.rowcount == 1)

        return await self._db.write(run)

    async def forget_private(self, kid: str) -> bool:
        keys = signing_keys.c

        def run(conn: Connection) -> bool:
            result = conn.execute(
                signing_keys.update()
                .where(keys.kid == kid, keys.state.in_(("previous", "retired")))
                .values(private_jwk=b"")
            )
            return bool(result.rowcount == 1)

        return await self._db.write(run)

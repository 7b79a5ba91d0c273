"""The SQL store of signing keys: one lifecycle (next → current → previous → retired)
per algorithm. A partial unique index on ``(alg, state)`` for ``next`` and ``current``
(migration 0004) keeps one of each per algorithm, whatever the number of processes: an
insert or promotion that would make a second one fails, and the caller lost the race.
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


class _Conflict(Exception):
    pass


def _key(row: Any) -> KeyRecord:
    key = _record(KeyRecord, row)
    # a driver may hand binary columns back as memoryview
    return replace(key, private_jwk=bytes(key.private_jwk))


class SqlKeyStore(_Sql):
    async def add(self, key: KeyRecord) -> bool:
        def run(conn: Connection) -> None:
            conn.execute(signing_keys.insert().values(**_values(key)))

        try:
            await self._db.write(run)
        except IntegrityError:  # the kid exists, or this algorithm has its next/current
            return False
        return True

    async def list(self) -> list[KeyRecord]:
        query = signing_keys.select().order_by(signing_keys.c.created_at, signing_keys.c.kid)

        def run(conn: Connection) -> list[KeyRecord]:
            return [_key(row) for row in conn.execute(query)]

        return await self._db.read(run)

    async def get(self, kid: str) -> KeyRecord | None:
        def run(conn: Connection) -> KeyRecord | None:
            row = conn.execute(signing_keys.select().where(signing_keys.c.kid == kid)).first()
            return None if row is None else _key(row)

        return await self._db.lookup(run)

    async def promote(
        self, *, next_kid: str, current_kid: str | None, now: float, publish_until: float
    ) -> bool:
        keys = signing_keys.c

        def run(conn: Connection) -> None:
            row = conn.execute(
                sa.select(keys.alg).where(keys.kid == next_kid, keys.state == "next")
            ).first()
            if row is None:
                raise _Conflict
            alg = str(row.alg)
            lanes = {alg}
            if current_kid is not None:
                demoted = conn.execute(
                    signing_keys.update()
                    .where(keys.kid == current_kid, keys.state == "current")
                    .values(state="previous", deactivated_at=now, publish_until=publish_until)
                    .returning(keys.alg)
                ).first()
                if demoted is None:
                    raise _Conflict
                lanes.add(str(demoted.alg))
            count = sa.select(sa.func.count()).where(keys.alg == alg, keys.state == "current")
            if conn.execute(count).scalar_one():
                raise _Conflict
            older = sa.and_(keys.state == "previous", keys.alg.in_(sorted(lanes)))
            if current_kid is not None:
                older = sa.and_(older, keys.kid != current_kid)
            conn.execute(signing_keys.update().where(older).values(state="retired", retired_at=now))
            conn.execute(
                signing_keys.update()
                .where(keys.kid == next_kid)
                .values(state="current", activated_at=now)
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
                .where(keys.kid == kid, keys.state == "current")
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
                .where(keys.kid == kid, keys.state.in_(("next", "previous")))
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

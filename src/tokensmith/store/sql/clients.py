"""SQL stores of OAuth clients and of seen client-assertion ``jti`` values (issue 6)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from ..errors import DuplicateError
from ..records import ClientRecord
from .backend import _Sql
from .schema import assertion_replays, clients

__all__ = ["SqlAssertionReplayStore", "SqlClientStore"]


def _words(value: str) -> tuple[str, ...]:
    return tuple(w for w in value.split(" ") if w)


def _client(row: Any) -> ClientRecord:
    return ClientRecord(
        client_id=row.client_id,
        name=row.name,
        auth_method=row.auth_method,
        secret_hash=row.secret_hash,
        grant_types=_words(row.grant_types),
        scopes=_words(row.scopes),
        audiences=_words(row.audiences),
        access_ttl=row.access_ttl,
        signing_alg=row.signing_alg,
        cookie_mode=bool(row.cookie_mode),
        jwks=row.jwks,
        jwks_uri=row.jwks_uri,
        created_at=row.created_at,
        updated_at=row.updated_at,
        disabled_at=row.disabled_at,
        dpop=row.dpop,
    )


class SqlClientStore(_Sql):
    async def create(self, client: ClientRecord) -> None:
        values = {
            "client_id": client.client_id,
            "name": client.name,
            "auth_method": client.auth_method,
            "secret_hash": client.secret_hash,
            "grant_types": " ".join(client.grant_types),
            "scopes": " ".join(client.scopes),
            "audiences": " ".join(client.audiences),
            "access_ttl": client.access_ttl,
            "signing_alg": client.signing_alg,
            "cookie_mode": client.cookie_mode,
            "jwks": client.jwks,
            "jwks_uri": client.jwks_uri,
            "created_at": client.created_at,
            "updated_at": client.updated_at,
            "disabled_at": client.disabled_at,
            "dpop": client.dpop,
        }

        def run(conn: Connection) -> None:
            conn.execute(clients.insert().values(**values))

        try:
            await self._db.write(run)
        except IntegrityError as exc:
            raise DuplicateError("client exists") from exc

    async def get(self, client_id: str) -> ClientRecord | None:
        query = sa.select(clients).where(clients.c.client_id == client_id)

        def run(conn: Connection) -> ClientRecord | None:
            row = conn.execute(query).first()
            return None if row is None else _client(row)

        return await self._db.lookup(run)

    async def list(self, *, limit: int = 100, offset: int = 0) -> list[ClientRecord]:
        query = (
            sa.select(clients)
            .order_by(clients.c.created_at, clients.c.client_id)
            .limit(limit)
            .offset(offset)
        )

        def run(conn: Connection) -> list[ClientRecord]:
            return [_client(row) for row in conn.execute(query)]

        return await self._db.read(run)

    async def _update(self, client_id: str, **values: Any) -> bool:
        statement = clients.update().where(clients.c.client_id == client_id).values(**values)

        def run(conn: Connection) -> bool:
            return conn.execute(statement).rowcount == 1

        return await self._db.write(run)

    async def set_secret(self, client_id: str, secret_hash: str, *, now: float) -> bool:
        return await self._update(client_id, secret_hash=secret_hash, updated_at=now)

    async def set_disabled(self, client_id: str, disabled_at: float | None, *, now: float) -> bool:
        return await self._update(client_id, disabled_at=disabled_at, updated_at=now)


class SqlAssertionReplayStore(_Sql):
    async def use(self, key: str, *, expires_at: float, now: float) -> bool:
        def run(conn: Connection) -> None:
            # an expired record of the key may be replaced; an unexpired one makes the
            # insert fail on the primary key (atomic in every backend)
            conn.execute(
                assertion_replays.delete().where(
                    assertion_replays.c.key == key, assertion_replays.c.expires_at <= now
                )
            )
            conn.execute(assertion_replays.insert().values(key=key, expires_at=expires_at))

        try:
            await self._db.write(run)
        except IntegrityError:
            return False
        return True

    async def purge(self, *, now: float) -> int:
        statement = assertion_replays.delete().where(assertion_replays.c.expires_at <= now)

        def run(conn: Connection) -> int:
            return int(conn.execute(statement).rowcount)

        return await self._db.write(run)

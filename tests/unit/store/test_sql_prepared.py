"""Prepared statements on SQLite: straight through the sqlite3 cursor, with SQLAlchemy's
type processing and exceptions."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from tokensmith.store.sql.engine import create_sqlite_engine, migrate_sync
from tokensmith.store.sql.prepared import Prepared
from tokensmith.store.sql.schema import audit_events, users

INSERT_USER = Prepared(users.insert())
USER_BY_KEY = Prepared(users.select().where(users.c.username_key == sa.bindparam("key")))
INSERT_EVENT = Prepared(audit_events.insert())


def _user(n: int, created_at: float | int) -> dict[str, object]:
    return {
        "id": f"u{n}",
        "username": f"U{n}",
        "username_key": f"u{n}",
        "password_hash": "h",
        "roles": "",
        "created_at": created_at,
        "updated_at": created_at,
        "disabled_at": None,
    }


@pytest.fixture
def engine(tmp_path: Path) -> sa.Engine:
    engine = create_sqlite_engine(f"sqlite:///{tmp_path / 'tokensmith.db'}")
    migrate_sync(engine)
    return engine


def test_rows_come_back_in_column_order_with_types_processed(engine: sa.Engine) -> None:
    with engine.connect() as conn, conn.begin():
        INSERT_USER.run(conn, _user(1, 5))  # an int for a Float column: stored as 5.0
        row = USER_BY_KEY.first(conn, {"key": "u1"})
        assert row is not None
        found = dict(zip(USER_BY_KEY.names, row, strict=True))
        assert found["id"] == "u1"
        assert found["created_at"] == 5.0
        assert isinstance(found["created_at"], float)
        assert USER_BY_KEY.first(conn, {"key": "nobody"}) is None


def test_inserted_ids_and_driver_errors_as_sqlalchemy_raises_them(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        with conn.begin():
            INSERT_USER.run(conn, _user(1, 1.0))
            event = {"kind": "k", "at": 1.0, "details": "{}"}
            first = INSERT_EVENT.inserted_id(conn, event)
            assert INSERT_EVENT.inserted_id(conn, event) == first + 1
        transaction = conn.begin()
        INSERT_USER.run(conn, _user(2, 1.0))
        with pytest.raises(sa.exc.IntegrityError):
            INSERT_USER.run(conn, _user(1, 1.0))  # the same id
        transaction.rollback()  # ... and u2 with it
        assert USER_BY_KEY.first(conn, {"key": "u2"}) is None
        conn.rollback()
